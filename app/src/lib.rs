//! The password-reset portal's single-page app, and the types it shares with the server.
//!
//! The pure modules ([`wire`], [`policy`], [`ident`]) compile on any target; the server depends on
//! them with `default-features = false`. Everything that needs a browser sits behind `csr`.

pub mod ident;
pub mod policy;
pub mod wire;

#[cfg(feature = "csr")]
pub mod api;
#[cfg(feature = "csr")]
pub mod components;
#[cfg(feature = "csr")]
pub mod fmt;
#[cfg(feature = "csr")]
pub mod i18n;
#[cfg(feature = "csr")]
pub mod pages;
#[cfg(feature = "csr")]
pub mod routes;

#[cfg(feature = "csr")]
pub use app::App;

#[cfg(feature = "csr")]
mod app {
    use leptos::prelude::*;
    use leptos_router::components::{Redirect, Route, Router, Routes};
    use leptos_router::hooks::use_location;

    use crate::components::{provide_announcer, LiveRegion, Session};
    use crate::i18n::{self, t, Locale, Msg};
    use crate::pages::{
        AdminAudit, AdminRoles, AdminSettings, AdminUsers, ChangePassword, ChoosePassword,
        ForgotPassword, Meetings, NotFound, ResetLink, SignIn,
    };
    use crate::routes::Page;

    /// The whole app: the shared session and live region, and the route table.
    #[component]
    pub fn App() -> impl IntoView {
        i18n::init();
        provide_announcer();
        provide_context(Session(RwSignal::new(None)));
        view! {
            <Router>
                <Routes fallback=NotFound>
                    <Route
                        path=Page::Home.segments()
                        view=|| view! { <Redirect path=Page::Meetings.path() /> }
                    />
                    <Route path=Page::SignIn.segments() view=SignIn />
                    <Route path=Page::ForgotPassword.segments() view=ForgotPassword />
                    <Route path=Page::ResetLink.segments() view=ResetLink />
                    <Route path=Page::Meetings.segments() view=Meetings />
                    <Route path=Page::ChangePassword.segments() view=ChangePassword />
                    <Route path=Page::ChoosePassword.segments() view=ChoosePassword />
                    <Route path=Page::AdminUsers.segments() view=AdminUsers />
                    <Route path=Page::AdminRoles.segments() view=AdminRoles />
                    <Route path=Page::AdminAudit.segments() view=AdminAudit />
                    <Route path=Page::AdminSettings.segments() view=AdminSettings />
                </Routes>
                <Footer />
            </Router>
            <LiveRegion />
        }
    }

    /// The language switch, on every page. A full page load (`rel="external"` keeps the router
    /// out), since the locale is chosen once per load.
    #[component]
    fn Footer() -> impl IntoView {
        let location = use_location();
        let other = match i18n::locale() {
            Locale::En => Locale::Sv,
            Locale::Sv => Locale::En,
        };
        let href = move || format!("{}?lang={}", location.pathname.get(), other.tag());
        view! {
            <footer class="site-footer">
                <a href=href rel="external" hreflang=other.tag() lang=other.tag()>
                    {t(Msg::LanguageSwitch)}
                </a>
            </footer>
        }
    }
}
