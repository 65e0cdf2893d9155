import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { GuardPanel } from './panel';

/**
 * Adds the "Guard" panel to the left sidebar.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-guard:sidebar',
  description: 'What jupyter_guard allowed, masked and blocked, live.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    app.shell.add(new GuardPanel(), 'left', { rank: 900 });
  }
};

export default plugin;
