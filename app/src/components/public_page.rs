//! The frame of pages for visitors who are not signed in.

use leptos::prelude::*;

use crate::i18n::{t, Msg};
use crate::routes::Page;

/// The product name and a centred card holding the page, for sign-in and the reset flow.
#[component]
pub fn PublicPage(
    /// The card's content.
    children: Children,
) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">{t(Msg::SkipToContent)}</a>
        <header class="site-header public">
            <a class="brand" href=Page::SignIn.path()>{t(Msg::ProductName)}</a>
        </header>
        <main id="main" class="main narrow">
            <div class="card">{children()}</div>
        </main>
    }
}
