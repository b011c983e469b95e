// The Models view's code editor: CodeMirror 6 behind the few calls the Rust page makes.
// Bundled by scripts/build-editor.mjs (esbuild) into the build's editor.js and imported
// by the page only when the Models view opens.
import { EditorState } from '@codemirror/state';
import {
  EditorView,
  keymap,
  lineNumbers,
  highlightActiveLine,
  highlightActiveLineGutter,
  drawSelection,
  MatchDecorator,
  ViewPlugin,
  Decoration,
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { bracketMatching, indentOnInput, syntaxHighlighting, defaultHighlightStyle } from '@codemirror/language';
import { searchKeymap, highlightSelectionMatches } from '@codemirror/search';
import { autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';
import { lintGutter, setDiagnostics } from '@codemirror/lint';
import { sql } from '@codemirror/lang-sql';
import { yaml } from '@codemirror/lang-yaml';

/** Jinja's `{{ }}`, `{% %}` and `{# #}`, marked over the SQL highlighting (within a line). */
const jinjaMarks = new MatchDecorator({
  regexp: /\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}/g,
  decoration: (match) =>
    Decoration.mark({ class: match[0].startsWith('{#') ? 'cm-jinja-comment' : 'cm-jinja' }),
});

const jinja = ViewPlugin.fromClass(
  class {
    constructor(view) {
      this.decorations = jinjaMarks.createDeco(view);
    }
    update(update) {
      this.decorations = jinjaMarks.updateDeco(update, this.decorations);
    }
  },
  { decorations: (plugin) => plugin.decorations },
);

/** The language extensions of `language`: `sql` (SQL and Jinja), `yaml`, or plain text. */
function languageOf(language) {
  switch (language) {
    case 'sql':
      return [sql(), jinja];
    case 'yaml':
      return [yaml(), jinja];
    default:
      return [];
  }
}

/** What completes the text before the cursor, from the project's `data`. */
function completionSource(data) {
  return (context) => {
    const { models, sources, macros, columns } = data.current;
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, context.pos - line.from);
    let match = /\bref\(\s*['"]([\w.]*)$/.exec(before);
    if (match) {
      return {
        from: context.pos - match[1].length,
        options: models.map((name) => ({ label: name, type: 'class', detail: 'model' })),
        validFor: /^[\w.]*$/,
      };
    }
    match = /\bsource\(\s*['"](\w+)['"]\s*,\s*['"](\w*)$/.exec(before);
    if (match) {
      const source = match[1];
      return {
        from: context.pos - match[2].length,
        options: sources
          .filter((entry) => entry.source === source)
          .map((entry) => ({ label: entry.table, type: 'class', detail: `source ${source}` })),
        validFor: /^\w*$/,
      };
    }
    match = /\bsource\(\s*['"](\w*)$/.exec(before);
    if (match) {
      const names = [...new Set(sources.map((entry) => entry.source))];
      return {
        from: context.pos - match[1].length,
        options: names.map((name) => ({ label: name, type: 'namespace', detail: 'source' })),
        validFor: /^\w*$/,
      };
    }
    const word = context.matchBefore(/\w+/);
    if (!word && !context.explicit) return null;
    const options = [];
    for (const entry of macros) {
      options.push({ label: entry.name, type: 'function', detail: entry.signature, boost: 1 });
    }
    const seen = new Set();
    for (const relation of columns) {
      for (const column of relation.columns) {
        if (seen.has(column)) continue;
        seen.add(column);
        options.push({ label: column, type: 'property', detail: relation.relation });
      }
    }
    return { from: word ? word.from : context.pos, options, validFor: /^\w*$/ };
  };
}

/** An editor in `parent`. `options`: `text`, `language`, `label` (the content's accessible
 * name), `onChange(text)` after each edit, `onSave()` on Ctrl/Cmd+S. */
export function createEditor(parent, options) {
  const data = { current: { models: [], sources: [], macros: [], columns: [] } };
  const onChange = options.onChange ?? (() => {});
  const onSave = options.onSave ?? (() => {});
  const extensions = (lang) => [
    lineNumbers(),
    highlightActiveLineGutter(),
    history(),
    drawSelection(),
    indentOnInput(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    bracketMatching(),
    closeBrackets(),
    autocompletion({ override: [completionSource(data)] }),
    highlightActiveLine(),
    highlightSelectionMatches(),
    lintGutter(),
    keymap.of([
      { key: 'Mod-s', preventDefault: true, run: () => (onSave(), true) },
      ...closeBracketsKeymap,
      ...defaultKeymap,
      ...searchKeymap,
      ...historyKeymap,
      ...completionKeymap,
      indentWithTab,
    ]),
    EditorView.contentAttributes.of({ 'aria-label': options.label ?? 'Model SQL' }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) onChange(update.state.doc.toString());
    }),
    languageOf(lang),
  ];
  const stateOf = (text, lang) => EditorState.create({ doc: text, extensions: extensions(lang) });
  const view = new EditorView({ parent, state: stateOf(options.text ?? '', options.language) });
  return {
    /** The text. */
    getText: () => view.state.doc.toString(),
    /** Opens another file: `text` in `lang`, with a fresh undo history. */
    open: (text, lang) => view.setState(stateOf(text, lang)),
    /** Replaces the text, as one undoable edit. */
    setText: (text) =>
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    /** Marks `diagnostics` ({line, column?, message, severity}), lines 1-based. */
    setDiagnostics: (diagnostics) => {
      const doc = view.state.doc;
      const marks = diagnostics.map((diagnostic) => {
        const line = doc.line(Math.min(Math.max(diagnostic.line, 1), doc.lines));
        const column = diagnostic.column ? Math.min(diagnostic.column - 1, line.length) : 0;
        const from = line.from + column;
        const to = diagnostic.column ? Math.max(from, line.to) : line.to;
        return { from, to, severity: diagnostic.severity, message: diagnostic.message };
      });
      view.dispatch(setDiagnostics(view.state, marks));
    },
    /** What completes: {models, sources: [{source, table}], macros: [{name, signature}],
     * columns: [{relation, columns}]}. */
    setCompletions: (completions) => {
      data.current = completions;
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
