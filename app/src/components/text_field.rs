//! A labelled text input with its hint and inline error.

use leptos::html;
use leptos::prelude::*;

use super::{describedby, unique_id};

/// A text input with a visible `<label>`, an optional hint, and an inline error tied to the input
/// by `aria-describedby` and `aria-invalid`, so the error is read with the field (WCAG 3.3.1).
/// Typing clears the error.
#[component]
pub fn TextField(
    /// The visible label, which is also the input's accessible name.
    #[prop(into)]
    label: String,
    /// The text typed.
    value: RwSignal<String>,
    /// The error shown under the field, or `None`.
    error: RwSignal<Option<String>>,
    /// The input `type`: "text", "email", "search", "tel", "number".
    #[prop(default = "text")]
    input_type: &'static str,
    /// The `autocomplete` token, e.g. "username" or "one-time-code".
    #[prop(optional)]
    autocomplete: Option<&'static str>,
    /// The `inputmode`, e.g. "numeric" for codes.
    #[prop(optional)]
    inputmode: Option<&'static str>,
    /// The `maxlength`.
    #[prop(optional)]
    maxlength: Option<u32>,
    /// A hint shown under the label.
    #[prop(optional, into)]
    hint: Option<String>,
    /// Lets the page focus the input (e.g. on the first invalid field).
    #[prop(optional)]
    node_ref: Option<NodeRef<html::Input>>,
) -> impl IntoView {
    let id = unique_id("field");
    let hint_id = hint.as_ref().map(|_| format!("{id}-hint"));
    let error_id = format!("{id}-error");
    let described = {
        let hint_id = hint_id.clone();
        let error_id = error_id.clone();
        move || {
            let err = error.with(Option::is_some).then_some(error_id.as_str());
            describedby(&[hint_id.as_deref(), err])
        }
    };
    let node = node_ref.unwrap_or_default();
    view! {
        <div class="field" class:field-invalid=move || error.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                node_ref=node
                type=input_type
                autocomplete=autocomplete
                inputmode=inputmode
                maxlength=maxlength
                spellcheck="false"
                autocapitalize="none"
                aria-invalid=move || error.with(Option::is_some).then_some("true")
                aria-describedby=described
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    if error.with_untracked(Option::is_some) {
                        error.set(None);
                    }
                }
            />
            {move || {
                error
                    .get()
                    .map(|e| {
                        view! {
                            <p class="field-error" id=error_id.clone()>
                                {e}
                            </p>
                        }
                    })
            }}
        </div>
    }
}
