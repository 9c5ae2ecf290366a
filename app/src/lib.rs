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

    use leptos::reactive::computed::ScopedFuture;
    use leptos::wasm_split::SplitLoaderError;

    use crate::components::{provide_announcer, LiveRegion, Session};
    use crate::i18n::{self, t, Locale, Msg};
    use crate::pages::{
        AdminAudit, AdminRoles, AdminSettings, AdminUsers, ChangePassword, ChoosePassword,
        ForgotPassword, Meetings, NotFound, ResetLink, SignIn,
    };
    use crate::routes::Page;

    // The reset path (`/forgot_password`, `/reset`) and `/signin` are in the first download; every
    // other page is its own wasm chunk, split off by script/build-web and fetched when first
    // visited, so a phone on a slow link that only resets a password never downloads the admin
    // panel. Each split point is `fallible`: a chunk that cannot be fetched (the phone lost its
    // connection) is an `Err` the page shows with a way to try again, not a panic that would stop
    // the whole app; a failed load is not remembered, so trying again fetches it anew.
    macro_rules! lazy_pages {
        ($($load:ident / $preload:ident => $page:ident),* $(,)?) => {$(
            #[leptos::wasm_split::wasm_split(
                $load,
                wasm_split_path = ::leptos::wasm_split,
                fallible,
                preload($preload)
            )]
            fn $load() -> Result<AnyView, SplitLoaderError> {
                Ok(view! { <$page /> }.into_any())
            }
        )*};
    }
    lazy_pages! {
        meetings_page / preload_meetings => Meetings,
        change_password_page / preload_change_password => ChangePassword,
        choose_password_page / preload_choose_password => ChoosePassword,
        admin_users_page / preload_admin_users => AdminUsers,
        admin_roles_page / preload_admin_roles => AdminRoles,
        admin_audit_page / preload_admin_audit => AdminAudit,
        admin_settings_page / preload_admin_settings => AdminSettings,
    }

    /// Starts fetching `page`'s chunk, if it has one, so a click that may follow finds it loaded:
    /// on hover or focus of a link to it, and My Meetings once a reset signed the user in. The
    /// reset pages never prefetch the admin panel: a phone that only resets pays for nothing more.
    /// A prefetch that fails is forgotten; the visit itself tries again.
    pub fn prefetch(page: Page) {
        fn go<F: Future<Output = Result<(), SplitLoaderError>> + 'static>(preload: fn() -> F) {
            leptos::task::spawn_local(async move {
                let _ = preload().await;
            });
        }
        match page {
            Page::Meetings => go(preload_meetings),
            Page::ChangePassword => go(preload_change_password),
            Page::ChoosePassword => go(preload_choose_password),
            Page::AdminUsers => go(preload_admin_users),
            Page::AdminRoles => go(preload_admin_roles),
            Page::AdminAudit => go(preload_admin_audit),
            Page::AdminSettings => go(preload_admin_settings),
            Page::Home | Page::SignIn | Page::ForgotPassword | Page::ResetLink => {}
        }
    }

    /// Where a lazily loaded page is.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Chunk {
        Loading,
        Ready,
        Failed,
    }

    /// A lazily loaded page: "Loading…" (announced) until its chunk has arrived, then the page,
    /// mounted as an eager page is (not under a `Suspense`, which would also wait for the page's
    /// own requests and move the page into place, taking the heading's focus with it); if the
    /// chunk cannot be fetched, an alert and "Try again".
    fn deferred<F>(load: fn() -> F) -> impl IntoView
    where
        F: Future<Output = Result<AnyView, SplitLoaderError>> + 'static,
    {
        let page = StoredValue::new_local(None::<AnyView>);
        let chunk = RwSignal::new(Chunk::Loading);
        // The page is built, once its code is here, under this route's owner (for the router's
        // and the session's contexts) and outside any reactive observer; also when "Try again"
        // starts the fetch, from an event handler, where no owner is current.
        let owner = StoredValue::new_local(Owner::current());
        let fetch = move || {
            let start = move || {
                leptos::task::spawn_local(ScopedFuture::new_untracked(async move {
                    let state = match load().await {
                        // Gone already if the visitor left before the chunk arrived.
                        Ok(view) => match page.try_set_value(Some(view)) {
                            None => Chunk::Ready,
                            Some(_) => return,
                        },
                        Err(_) => Chunk::Failed,
                    };
                    chunk.try_set(state);
                }));
            };
            match owner.try_get_value().flatten() {
                Some(route) => route.with(start),
                None => start(),
            }
        };
        fetch();
        move || match chunk.get() {
            Chunk::Ready => page
                .try_update_value(Option::take)
                .flatten()
                .unwrap_or_else(|| ().into_any()),
            Chunk::Loading => view! {
                <main class="main"><p class="loading" role="status">{t(Msg::Loading)}</p></main>
            }
            .into_any(),
            Chunk::Failed => view! {
                <main class="main">
                    <div class="card">
                        <p role="alert">{t(Msg::PageLoadFailed)}</p>
                        <button
                            type="button"
                            class="btn btn-primary"
                            on:click=move |_| {
                                chunk.set(Chunk::Loading);
                                fetch();
                            }
                        >
                            {t(Msg::TryAgain)}
                        </button>
                    </div>
                </main>
            }
            .into_any(),
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
                    <Route path=Page::Meetings.segments() view=|| deferred(meetings_page) />
                    <Route path=Page::ChangePassword.segments() view=|| deferred(change_password_page) />
                    <Route path=Page::ChoosePassword.segments() view=|| deferred(choose_password_page) />
                    <Route path=Page::AdminUsers.segments() view=|| deferred(admin_users_page) />
                    <Route path=Page::AdminRoles.segments() view=|| deferred(admin_roles_page) />
                    <Route path=Page::AdminAudit.segments() view=|| deferred(admin_audit_page) />
                    <Route path=Page::AdminSettings.segments() view=|| deferred(admin_settings_page) />
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
