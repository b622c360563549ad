// Workspace trust as the session set it up (run-tests.mjs sets LRM_EXPECT_TRUSTED to 1 or 0):
// checks that the harness's trust modes really give a trusted or a Restricted Mode folder.

const assert = require('node:assert/strict');
const vscode = require('vscode');

exports.tests = {
  'workspace trust is as the session asked': async () => {
    const expected = process.env.LRM_EXPECT_TRUSTED;
    if (expected === undefined) return; // not set: nothing to check
    if (expected === '1' && !vscode.workspace.isTrusted) {
      // trust: 'trusted' answers the startup prompt from the page: wait for the grant.
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the workspace was never trusted')), 20000);
        vscode.workspace.onDidGrantWorkspaceTrust(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    assert.equal(vscode.workspace.isTrusted, expected === '1');
  },
};
