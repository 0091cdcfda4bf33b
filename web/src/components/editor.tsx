/** The code editor: CodeMirror 6 with the runtime's highlighting (python, JavaScript, shell). */
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import {
  bracketMatching,
  defaultHighlightStyle,
  indentOnInput,
  StreamLanguage,
  syntaxHighlighting,
} from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { Compartment, EditorState, type Extension } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from '@codemirror/view';
import { useEffect, useRef } from 'preact/hooks';

export function languageFor(runtime: string | undefined): { ext: Extension; name: string } {
  const family = (runtime ?? '').split(':')[0];
  if (family === 'python') return { ext: python(), name: 'python' };
  if (family === 'nodejs') return { ext: javascript(), name: 'javascript' };
  if (family === 'shell') return { ext: StreamLanguage.define(shell), name: 'shell' };
  return { ext: [], name: 'text' };
}

const theme = EditorView.theme({
  '&': { fontSize: '13px', height: '100%' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', lineHeight: '1.5' },
  '.cm-content': { minHeight: '100%' },
  '&.cm-focused': { outline: 'none' },
});

export function CodeEditor(props: {
  value: string;
  runtime: string | undefined;
  onChange: (v: string) => void;
  readOnly?: boolean;
  label?: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | undefined>(undefined);
  const lang = useRef(new Compartment());
  const ro = useRef(new Compartment());
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          lineNumbers(),
          highlightActiveLineGutter(),
          highlightActiveLine(),
          history(),
          drawSelection(),
          indentOnInput(),
          bracketMatching(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          lang.current.of(languageFor(props.runtime).ext),
          ro.current.of(EditorState.readOnly.of(!!props.readOnly)),
          EditorView.contentAttributes.of({ 'aria-label': props.label ?? 'Function source code' }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChange.current(u.state.doc.toString());
          }),
          theme,
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
    // Created once, on mount: later values, runtimes and read-only states reach the editor through the effects
    // below and the refs, not by building a new one.
  }, []);

  // The source replaced from outside (a function loaded, a template picked).
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
    }
  }, [props.value]);

  useEffect(() => {
    view.current?.dispatch({ effects: lang.current.reconfigure(languageFor(props.runtime).ext) });
  }, [props.runtime]);

  useEffect(() => {
    view.current?.dispatch({ effects: ro.current.reconfigure(EditorState.readOnly.of(!!props.readOnly)) });
  }, [props.readOnly]);

  return <div class="code-editor" ref={host} data-language={languageFor(props.runtime).name} />;
}
