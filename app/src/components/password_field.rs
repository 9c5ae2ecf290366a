//! A password input with a show/hide toggle.

use leptos::html;
use leptos::prelude::*;

use super::{describedby, unique_id};
use crate::i18n::{t, Msg};

/// A password input with a visible label, an inline error (tied by `aria-describedby` and
/// `aria-invalid`) and a "Show"/"Hide" toggle, because masking causes typos and paste is allowed
/// (NIST 800-63B-4 3.1.1.2). The toggle is a pressed/unpressed button, not a second label.
#[component]
pub fn PasswordField(
    /// The visible label, which is also the input's accessible name.
    #[prop(into)]
    label: String,
    /// The password typed.
    value: RwSignal<String>,
    /// The error shown under the field, or `None`.
    error: RwSignal<Option<String>>,
    /// "current-password" or "new-password", so password managers fill or generate.
    #[prop(default = "current-password")]
    autocomplete: &'static str,
    /// The id of something else that describes this field, such as the policy checklist.
    #[prop(optional, into)]
    described_by: Option<String>,
    /// Lets the page focus the input.
    #[prop(optional)]
    node_ref: Option<NodeRef<html::Input>>,
) -> impl IntoView {
    let id = unique_id("password");
    let error_id = format!("{id}-error");
    let shown = RwSignal::new(false);
    let described = {
        let error_id = error_id.clone();
        move || {
            let err = error.with(Option::is_some).then_some(error_id.as_str());
            describedby(&[err, described_by.as_deref()])
        }
    };
    let node = node_ref.unwrap_or_default();
    view! {
        <div class="field" class:field-invalid=move || error.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            <div class="password-row">
                <input
                    id=id.clone()
                    node_ref=node
                    type=move || if shown.get() { "text" } else { "password" }
                    autocomplete=autocomplete
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
                <button
                    type="button"
                    class="btn-toggle"
                    aria-controls=id
                    aria-pressed=move || if shown.get() { "true" } else { "false" }
                    on:click=move |_| shown.update(|s| *s = !*s)
                >
                    {move || if shown.get() { t(Msg::Hide) } else { t(Msg::Show) }}
                    <span class="visually-hidden">" " {t(Msg::PasswordSuffix)}</span>
                </button>
            </div>
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
