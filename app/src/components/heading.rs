//! The page's `<h1>`, which takes focus when it appears.

use leptos::html;
use leptos::prelude::*;

/// The main heading of a page or of a step. It is focusable (`tabindex=-1`) and focuses itself
/// when mounted, so a screen-reader user hears where a route change or a step change landed
/// instead of staying on a button that no longer exists (WCAG 2.4.3).
#[component]
pub fn PageHeading(
    /// The heading text.
    children: Children,
) -> impl IntoView {
    let node = NodeRef::<html::H1>::new();
    Effect::new(move |_| {
        if let Some(el) = node.get() {
            let _ = el.focus();
        }
    });
    view! {
        <h1 tabindex="-1" node_ref=node>
            {children()}
        </h1>
    }
}
