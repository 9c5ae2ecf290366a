//! The page's `<h1>`, which takes focus when it appears and names the browser tab.

use leptos::html;
use leptos::prelude::*;

use crate::i18n::{t, Msg};

/// The main heading of a page or of a step. It is focusable (`tabindex=-1`) and focuses itself
/// when mounted, so a screen-reader user hears where a route change or a step change landed
/// instead of staying on a button that no longer exists (WCAG 2.4.3). It also titles the document
/// "Heading – Meeting Portal" in the page's language, so each page and step has its own title
/// (WCAG 2.4.2) rather than the English one of index.html.
#[component]
pub fn PageHeading(
    /// The heading text.
    children: Children,
) -> impl IntoView {
    let node = NodeRef::<html::H1>::new();
    Effect::new(move |_| {
        if let Some(el) = node.get() {
            let _ = el.focus();
            let heading = el.text_content().unwrap_or_default();
            let heading = heading.trim();
            if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
                let product = t(Msg::ProductName);
                if heading.is_empty() {
                    doc.set_title(product);
                } else {
                    doc.set_title(&format!("{heading} – {product}"));
                }
            }
        }
    });
    view! {
        <h1 tabindex="-1" node_ref=node>
            {children()}
        </h1>
    }
}
