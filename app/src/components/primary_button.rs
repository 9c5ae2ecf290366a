//! The one primary action of a screen.

use leptos::prelude::*;

/// A submit button that shows progress while its request runs. While busy it is
/// `aria-disabled` (it keeps focus, unlike `disabled`) and its form ignores further submits, so
/// a double click sends one request.
#[component]
pub fn PrimaryButton(
    /// The button text.
    #[prop(into)]
    label: String,
    /// True while the request runs.
    #[prop(into)]
    busy: Signal<bool>,
) -> impl IntoView {
    view! {
        <button
            type="submit"
            class="btn btn-primary"
            aria-disabled=move || busy.get().then_some("true")
            aria-busy=move || busy.get().then_some("true")
        >
            <span class="spinner" aria-hidden="true" class:hidden=move || !busy.get()></span>
            {label}
        </button>
    }
}
