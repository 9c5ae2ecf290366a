//! A modal dialog on the native `<dialog>` element.

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::unique_id;
use crate::i18n::{t, Msg};

/// A modal dialog. `showModal()` makes the rest of the page inert, so focus stays inside, and
/// the browser closes it on Escape and puts focus back where it was: the behaviour the ARIA
/// dialog pattern asks for, without a hand-written focus trap. The content is only rendered while
/// open, so each opening starts with empty fields.
#[component]
pub fn Dialog(
    /// Whether the dialog is open; the dialog sets it back to false when closed.
    open: RwSignal<bool>,
    /// The dialog's heading, also its accessible name.
    #[prop(into)]
    title: Signal<String>,
    /// The content, usually a form.
    children: ChildrenFn,
) -> impl IntoView {
    let node = NodeRef::<html::Dialog>::new();
    let title_id = unique_id("dialog-title");
    Effect::new(move |_| {
        let Some(el) = node.get() else { return };
        if open.get() {
            if !el.open() {
                let _ = el.show_modal();
                // Start on the first field rather than the close button.
                if let Some(field) = el
                    .query_selector("input, select, textarea")
                    .ok()
                    .flatten()
                    .and_then(|f| f.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = field.focus();
                }
            }
        } else if el.open() {
            el.close();
        }
    });
    view! {
        <dialog
            node_ref=node
            class="dialog"
            role="dialog"
            aria-modal="true"
            aria-labelledby=title_id.clone()
            on:close=move |_| open.set(false)
        >
            <div class="dialog-head">
                <h2 id=title_id.clone()>{title}</h2>
                <button type="button" class="btn-close" on:click=move |_| open.set(false)>
                    <span aria-hidden="true">"×"</span>
                    <span class="visually-hidden">{t(Msg::Close)}</span>
                </button>
            </div>
            <Show when=move || open.get()>{children()}</Show>
        </dialog>
    }
}
