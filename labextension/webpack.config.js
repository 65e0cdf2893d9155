// Module ids by order, not by a hash of the absolute path: the committed build is then the same
// byte for byte whichever folder it is built in, so a check can rebuild it and compare.
module.exports = {
  optimization: { moduleIds: 'natural' }
};
