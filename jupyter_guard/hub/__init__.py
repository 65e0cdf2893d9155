"""The guard's authority on JupyterHub: a hub-managed service under its own OS account.

``authority.py`` holds the key, the approval store and the policy's say on who may approve (in the
service process); ``service.py`` is its tornado app (``python -m jupyter_guard.hub``);
``client.py`` is the single-user server's side (hub mode): it signs nothing and keeps no store, it
asks the service.
"""
