// CodeMirror mounts its themes through style-mod, which writes them into a
// <style> element on a document. The UI's Content-Security-Policy
// (default-src 'self') refuses inline styles, so the bundle swaps in this
// StyleModule: the same class, whose mount keeps the modules' rules in one
// constructable stylesheet per root (CSSOM, which the policy allows).
import {StyleModule as Base} from '../node_modules/style-mod/src/style-mod.js';

const sets = new WeakMap();

export class StyleModule extends Base {
  static mount(root, modules) {
    let set = sets.get(root);
    if (!set) {
      const win = (root.ownerDocument || root).defaultView;
      set = {sheet: new win.CSSStyleSheet(), modules: []};
      sets.set(root, set);
    }
    let changed = false;
    let at = 0;
    for (const mod of Array.isArray(modules) ? modules : [modules]) {
      let i = set.modules.indexOf(mod);
      if (i > -1 && i < at) { // asked for after modules it used to precede
        set.modules.splice(i, 1);
        at--;
        i = -1;
      }
      if (i === -1) {
        set.modules.splice(at++, 0, mod);
        changed = true;
      } else {
        at = i + 1;
      }
    }
    if (changed) set.sheet.replaceSync(set.modules.map((m) => m.getRules()).join('\n'));
    if (!root.adoptedStyleSheets.includes(set.sheet)) root.adoptedStyleSheets = [set.sheet, ...root.adoptedStyleSheets];
  }
}
