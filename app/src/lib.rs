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
pub use app::{prefetch, App};

#[cfg(feature = "csr")]
mod app {
    use leptos::prelude::*;
    use leptos_router::components::{Redirect, Route, Router, Routes};
    use leptos_router::hooks::use_location;

    use std::future::Future;

    use leptos::lazy;
    use leptos::reactive::computed::ScopedFuture;

    use crate::components::{provide_announcer, LiveRegion, Session};
    use crate::i18n::{self, t, Locale, Msg};
    use crate::pages::{
        AdminAudit, AdminRoles, AdminSettings, AdminUsers, ChangePassword, ChoosePassword,
        ForgotPassword, Meetings, NotFound, ResetLink, SignIn,
    };
    use crate::routes::Page;

    // The reset path (`/forgot_password`, `/reset`) and `/signin` are in the first download; every
    // other page is its own wasm chunk (`#[lazy]`: script/build-web splits the module), fetched
    // when first visited, so a phone on a slow link that only resets a password never downloads
    // the admin panel.
    macro_rules! lazy_pages {
        ($($load:ident => $page:ident),* $(,)?) => {$(
            #[lazy]
            fn $load() -> AnyView {
                view! { <$page /> }.into_any()
            }
        )*};
    }
    lazy_pages! {
        meetings => Meetings,
        change_password => ChangePassword,
        choose_password => ChoosePassword,
        admin_users => AdminUsers,
        admin_roles => AdminRoles,
        admin_audit => AdminAudit,
        admin_settings => AdminSettings,
    }

    /// Starts fetching `page`'s chunk, if it has one, so a click that may follow finds it loaded:
    /// on hover or focus of a link to it, and My Meetings once a reset signed the user in. The
    /// reset pages never prefetch the admin panel: a phone that only resets pays for nothing more.
    pub fn prefetch(page: Page) {
        fn go<F: Future<Output = ()> + 'static>(preload: fn() -> F) {
            leptos::task::spawn_local(preload());
        }
        match page {
            Page::Meetings => go(__preload_meetings),
            Page::ChangePassword => go(__preload_change_password),
            Page::ChoosePassword => go(__preload_choose_password),
            Page::AdminUsers => go(__preload_admin_users),
            Page::AdminRoles => go(__preload_admin_roles),
            Page::AdminAudit => go(__preload_admin_audit),
            Page::AdminSettings => go(__preload_admin_settings),
            Page::Home | Page::SignIn | Page::ForgotPassword | Page::ResetLink => {}
        }
    }

    /// A lazily loaded page: "Loading…" (announced) until its chunk has arrived, then the page,
    /// mounted as an eager page is (not under a `Suspense`, which would also wait for the page's
    /// own requests and move the page into place, taking the heading's focus with it).
    fn deferred<F>(load: fn() -> F) -> impl IntoView
    where
        F: Future<Output = AnyView> + 'static,
    {
        let page = StoredValue::new_local(None::<AnyView>);
        let ready = RwSignal::new(false);
        // The page is built, once its code is here, under this route's owner (for the router's
        // and the session's contexts) and outside any reactive observer.
        leptos::task::spawn_local(ScopedFuture::new_untracked(async move {
            let view = load().await;
            // Gone already if the visitor left before the chunk arrived.
            if page.try_set_value(Some(view)).is_none() {
                ready.try_set(true);
            }
        }));
        move || {
            let view = ready
                .get()
                .then(|| page.try_update_value(Option::take).flatten())
                .flatten();
            view.unwrap_or_else(|| {
                view! {
                    <main class="main"><p class="loading" role="status">{t(Msg::Loading)}</p></main>
                }
                .into_any()
            })
        }
    }

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
                    <Route path=Page::Meetings.segments() view=|| deferred(meetings) />
                    <Route path=Page::ChangePassword.segments() view=|| deferred(change_password) />
                    <Route path=Page::ChoosePassword.segments() view=|| deferred(choose_password) />
                    <Route path=Page::AdminUsers.segments() view=|| deferred(admin_users) />
                    <Route path=Page::AdminRoles.segments() view=|| deferred(admin_roles) />
                    <Route path=Page::AdminAudit.segments() view=|| deferred(admin_audit) />
                    <Route path=Page::AdminSettings.segments() view=|| deferred(admin_settings) />
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
