//! Any URL the route table does not know.

use leptos::prelude::*;

use crate::components::{PageHeading, PublicPage};
use crate::i18n::{t, Msg};
use crate::routes::Page;

/// "Page not found", with a link home.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <PublicPage>
            <PageHeading>{t(Msg::PageNotFound)}</PageHeading>
            <p>{t(Msg::PageNotFoundText)}</p>
            <p><a href=Page::Home.path()>{t(Msg::GoHome)}</a></p>
        </PublicPage>
    }
}
