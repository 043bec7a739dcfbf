// Code and schema editors: CodeMirror 6 with highlighting, line numbers and
// error markers. Tab indents; Escape then Tab leaves the editor.
import {EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection, highlightSpecialChars} from '@codemirror/view';
import {EditorState, Compartment} from '@codemirror/state';
import {defaultKeymap, history, historyKeymap, indentWithTab} from '@codemirror/commands';
import {syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching, indentUnit} from '@codemirror/language';
import {searchKeymap, highlightSelectionMatches} from '@codemirror/search';
import {lintGutter, setDiagnostics} from '@codemirror/lint';
import {python} from '@codemirror/lang-python';
import {json} from '@codemirror/lang-json';
import {yaml} from '@codemirror/lang-yaml';
import {xml} from '@codemirror/lang-xml';

const languages = {python, json, yaml, xml};

export function languageOf(name) {
  const f = languages[name];
  return f ? f() : [];
}

// makeEditor mounts an editor in parent. label names it for assistive tech.
export function makeEditor(parent, {doc = '', lang = 'python', label, id, onChange}) {
  const langSlot = new Compartment();
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        indentOnInput(),
        indentUnit.of('    '),
        bracketMatching(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        syntaxHighlighting(defaultHighlightStyle, {fallback: true}),
        lintGutter(),
        keymap.of([...defaultKeymap, ...historyKeymap, ...searchKeymap, indentWithTab]),
        langSlot.of(languageOf(lang)),
        EditorView.contentAttributes.of({'aria-label': label, ...(id ? {id} : {})}),
        EditorView.updateListener.of((u) => { if (u.docChanged && onChange) onChange(); }),
      ],
    }),
  });
  return {
    view,
    get: () => view.state.doc.toString(),
    set(text) {
      view.dispatch({changes: {from: 0, to: view.state.doc.length, insert: text || ''}});
    },
    setLanguage(name) {
      view.dispatch({effects: langSlot.reconfigure(languageOf(name))});
    },
    // mark shows problems (each {line, column, message}, 1-based) at their
    // place; an empty list clears them.
    mark(problems) {
      const doc = view.state.doc;
      const diags = problems.map((p) => {
        const line = doc.line(Math.min(Math.max(p.line || 1, 1), doc.lines));
        const from = Math.min(line.from + Math.max((p.column || 1) - 1, 0), line.to);
        return {from, to: Math.max(from, line.to), severity: 'error', message: p.message};
      });
      view.dispatch(setDiagnostics(view.state, diags));
    },
    goTo(lineNo) {
      const doc = view.state.doc;
      const line = doc.line(Math.min(Math.max(lineNo, 1), doc.lines));
      view.dispatch({selection: {anchor: line.from}, scrollIntoView: true});
      view.focus();
    },
  };
}

// positionsIn finds "line:column" places in a compiler message, as the
// Starlark and schema parsers write them ("3:5: got ...").
export function positionsIn(message) {
  const out = [];
  const re = /(?:^|[\s:(,])(\d+):(\d+)(?=:|\s|\)|,|$)/g;
  let m;
  while ((m = re.exec(message)) !== null) out.push({line: +m[1], column: +m[2]});
  if (out.length === 0) {
    const l = /\bline (\d+)(?:,? col(?:umn)? (\d+))?/i.exec(message);
    if (l) out.push({line: +l[1], column: l[2] ? +l[2] : 1});
  }
  return out;
}
