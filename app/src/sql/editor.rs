//! The SQL editor: a transparent `<textarea>` over a `<pre>` that shows the same text
//! highlighted by core's tokenizer, with the position of the last error marked.

use leptos::html::Pre;
use leptos::prelude::*;
use medallion_core::lineage::{highlight_sql, SqlToken};
use medallion_core::sql::SqlPosition;
use web_sys::KeyboardEvent;

use super::SqlState;
use crate::connection::Connection;

/// What Tab inserts.
const INDENT: &str = "    ";

/// The character index (not byte) of a 1-based line and column in `text`, if inside it.
fn char_index(text: &str, position: SqlPosition) -> Option<usize> {
    let line = usize::try_from(position.line).ok()?.checked_sub(1)?;
    let column = usize::try_from(position.column).ok()?.checked_sub(1)?;
    let before: usize = text
        .split('\n')
        .take(line)
        .map(|l| l.chars().count() + 1)
        .sum();
    let length = text.split('\n').nth(line)?.chars().count();
    (column <= length).then_some(before + column)
}

/// The highlighted text, the token at `mark` (a character index) wrapped in a marker.
fn highlighted(tokens: Vec<SqlToken>, mark: Option<usize>) -> impl IntoView {
    let mut at = 0;
    let mut marked = false;
    let mut views = Vec::with_capacity(tokens.len() + 1);
    for token in tokens {
        let length = token.text.chars().count();
        let class = token.kind.css_class();
        let here = mark.is_some_and(|mark| !marked && mark < at + length);
        if here {
            marked = true;
            views.push(
                view! {
                    <mark class="sql-error-mark" data-testid="sql-error-mark">
                        <span class=class>{token.text}</span>
                    </mark>
                }
                .into_any(),
            );
        } else {
            views.push(view! { <span class=class>{token.text}</span> }.into_any());
        }
        at += length;
    }
    // An error at the very end (a statement cut short) marks the place after the text.
    if mark.is_some() && !marked {
        views.push(
            view! { <mark class="sql-error-mark at-end" data-testid="sql-error-mark">" "</mark> }
                .into_any(),
        );
    }
    views
}

/// Replaces the textarea's selection with `text`, the caret after it, and tells `state`.
pub fn insert_at_cursor(state: SqlState, text: &str) {
    let Some(area) = state.editor.get_untracked() else {
        state.text.update(|current| current.push_str(text));
        return;
    };
    let start = area.selection_start().ok().flatten().unwrap_or(0);
    let end = area.selection_end().ok().flatten().unwrap_or(start);
    let _ = area.set_range_text_with_start_and_end(text, start, end);
    let caret = start + text.encode_utf16().count() as u32;
    let _ = area.set_selection_range(caret, caret);
    let _ = area.focus();
    state.text.set(area.value());
}

/// The editor, labelled `SQL`: Tab indents (Escape, then Tab, leaves it) and
/// Ctrl/Cmd+Enter runs the query.
#[component]
pub fn Editor(state: SqlState, connection: Connection) -> impl IntoView {
    let layer = NodeRef::<Pre>::new();
    // After Escape, Tab moves the focus on instead of indenting.
    let escaped = RwSignal::new(false);
    let mark = Memo::new(move |_| {
        let position = state.failure.with(|failure| failure.as_ref()?.position)?;
        state.text.with(|text| char_index(text, position))
    });
    let on_keydown = move |event: KeyboardEvent| {
        let key = event.key();
        if key == "Enter" && (event.ctrl_key() || event.meta_key()) {
            event.prevent_default();
            state.run(connection);
        } else if key == "Tab" && !event.shift_key() && !escaped.get_untracked() {
            event.prevent_default();
            insert_at_cursor(state, INDENT);
        }
        escaped.set(key == "Escape");
    };
    let sync_scroll = move || {
        if let (Some(area), Some(layer)) = (state.editor.get_untracked(), layer.get_untracked()) {
            layer.set_scroll_top(area.scroll_top());
            layer.set_scroll_left(area.scroll_left());
        }
    };
    view! {
        <div class="sql-editor">
            <pre class="sql sql-layer" aria-hidden="true" node_ref=layer>
                {move || highlighted(state.text.with(|text| highlight_sql(text)), mark.get())}
                // A last empty line still takes its height, as in the textarea.
                "\n"
            </pre>
            <textarea
                aria-label="SQL"
                aria-describedby="sql-editor-keys"
                spellcheck="false"
                wrap="off"
                autocapitalize="off"
                autocomplete="off"
                node_ref=state.editor
                prop:value=move || state.text.get()
                on:input=move |event| {
                    state.text.set(event_target_value(&event));
                    sync_scroll();
                }
                on:scroll=move |_| sync_scroll()
                on:keydown=on_keydown
            ></textarea>
        </div>
        <p id="sql-editor-keys" class="hint">
            "Ctrl+Enter (⌘+Enter) runs. Tab indents; Escape, then Tab, leaves the editor."
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn positions_count_characters_from_one() {
        let text = "select 1\nfrom é x\n";
        let at = |line, column| char_index(text, SqlPosition { line, column });
        assert_eq!(at(1, 1), Some(0));
        assert_eq!(at(2, 1), Some(9));
        assert_eq!(at(2, 8), Some(16));
        assert_eq!(text.chars().nth(16), Some('x'));
        assert_eq!(at(1, 9), Some(8));
        assert_eq!(at(3, 1), Some(18));
        assert_eq!(at(4, 1), None);
        assert_eq!(at(1, 10), None);
        assert_eq!(at(0, 1), None);
    }
}
