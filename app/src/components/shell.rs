//! The frame of every signed-in page: it knows who is signed in and sends everyone else to
//! sign-in.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

use super::{Alert, AlertKind, Header};
use crate::api;
use crate::i18n::{self, t, Msg};
use crate::routes::Page;
use crate::wire::Me;

/// The signed-in user, shared by every page: `None` until `GET /api/me` answers or after
/// signing out. Kept above the router so moving between pages does not flash an empty header.
#[derive(Debug, Clone, Copy)]
pub struct Session(pub RwSignal<Option<Me>>);

impl Session {
    pub fn get() -> Self {
        use_context::<Self>().unwrap_or_else(|| {
            let s = Self(RwSignal::new(None));
            provide_context(s);
            s
        })
    }

    /// Whether the signed-in user holds `permission`.
    pub fn can(&self, permission: &str) -> bool {
        self.0.with(|me| {
            me.as_ref()
                .is_some_and(|m| m.permissions.iter().any(|p| p == permission))
        })
    }
}

/// Header and `<main>` for a signed-in page. Asks `GET /api/me` on every mount (roles can change
/// between pages), sends a visitor who is not signed in to sign-in with `?next=` this page, and a
/// user who must replace an administrator-set password to the forced change.
#[component]
pub fn Shell(
    /// True on the forced-change page itself, which must not redirect to itself.
    #[prop(optional)]
    forced: bool,
    /// The page.
    children: ChildrenFn,
) -> impl IntoView {
    let session = Session::get();
    let navigate = use_navigate();
    let location = use_location();
    let error = RwSignal::new(None::<String>);
    let me = LocalResource::new(api::session::me);
    Effect::new(move |_| match me.get() {
        Some(Ok(m)) => {
            let must = m.must_change_password;
            session.0.set(Some(m));
            if must && !forced {
                navigate(Page::ChoosePassword.path(), replace());
            }
        }
        Some(Err(e)) if e.is_unauthenticated() => {
            session.0.set(None);
            let here = format!(
                "{}{}",
                location.pathname.get_untracked(),
                location.search.get_untracked()
            );
            navigate(&Page::sign_in_then(&here), replace());
        }
        Some(Err(e)) => error.set(Some(i18n::error_text(&e))),
        None => {}
    });
    view! {
        <Header forced=forced />
        <main id="main" class="main">
            <Show
                when=move || session.0.with(Option::is_some)
                fallback=move || {
                    view! {
                        {move || match error.get() {
                            Some(e) => view! { <Alert kind=AlertKind::Error>{e}</Alert> }.into_any(),
                            None => view! { <p class="loading">{t(Msg::Loading)}</p> }.into_any(),
                        }}
                    }
                }
            >
                {children()}
            </Show>
        </main>
    }
}

/// Navigation that replaces the current history entry, for redirects the back button should skip.
pub fn replace() -> NavigateOptions {
    NavigateOptions {
        replace: true,
        ..NavigateOptions::default()
    }
}
