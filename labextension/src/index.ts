import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { GuardApi } from './api';
import {
  DEFAULT_SETTINGS,
  GuardPanel,
  IPanelSettings,
  shieldIcon
} from './panel';
import { refusalOf } from './refusals';

const PLUGIN_ID = 'jupyter-guard:sidebar';

export const CommandIDs = {
  open: 'jupyter-guard:open'
};

function readSettings(settings: ISettingRegistry.ISettings): IPanelSettings {
  return {
    ...DEFAULT_SETTINGS,
    ...(settings.composite as Partial<IPanelSettings>)
  };
}

/**
 * The "Guard" panel in the left sidebar, a command (and palette entry) to open it, its place
 * restored with the layout, its settings, and the refusals of open notebooks' kernels.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'What jupyter_guard allowed, masked and blocked, and the approvals it waits for.',
  autoStart: true,
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    ISettingRegistry,
    INotebookTracker
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    registry: ISettingRegistry | null,
    notebooks: INotebookTracker | null
  ) => {
    const server = ServerConnection.makeSettings();
    const api = new GuardApi(server.baseUrl, (url, init) =>
      ServerConnection.makeRequest(url, init, server)
    );
    const panel = new GuardPanel(api);
    app.shell.add(panel, 'left', { rank: 900 });
    restorer?.add(panel, panel.id);

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open the Guard sidebar',
      caption:
        'What jupyter_guard allowed, masked and blocked, and requests to approve',
      icon: shieldIcon,
      execute: () => app.shell.activateById(panel.id)
    });
    palette?.addItem({ command: CommandIDs.open, category: 'Guard' });

    if (registry) {
      registry
        .load(PLUGIN_ID)
        .then(settings => {
          panel.settings = readSettings(settings);
          settings.changed.connect(
            () => (panel.settings = readSettings(settings))
          );
        })
        .catch(reason =>
          console.error('jupyter-guard: cannot load settings', reason)
        );
    }

    notebooks?.widgetAdded.connect((_, nb) => {
      nb.sessionContext.iopubMessage.connect((__, msg) => {
        const refusal = refusalOf(msg);
        if (refusal) {
          panel.addRefusal(refusal);
        }
      });
    });
  }
};

export default plugin;
