//! The signed-in header: product name, main navigation and the user menu.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use super::shell::{replace, Session};
use crate::api;
use crate::i18n::{t, Msg};
use crate::routes::Page;
use crate::wire::permission;

/// The header of signed-in pages: the product name, links to "My Meetings", "Change password"
/// and (with `users:view`) "User Management", and a menu with the user's name and "Sign out".
#[component]
pub fn Header(
    /// Hides the navigation while the user must choose a new password, since every other page
    /// would send them back.
    #[prop(optional)]
    forced: bool,
) -> impl IntoView {
    let session = Session::get();
    let navigate = use_navigate();
    let open = RwSignal::new(false);
    let signing_out = RwSignal::new(false);
    let sign_out = move |_| {
        if signing_out.get_untracked() {
            return;
        }
        signing_out.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            // Signed out locally either way: a failed request leaves a session that expires.
            let _ = api::session::sign_out().await;
            session.0.set(None);
            signing_out.try_set(false);
            navigate(Page::SignIn.path(), replace());
        });
    };
    let name = move || {
        session
            .0
            .with(|m| m.as_ref().map(|m| m.name.clone()).unwrap_or_default())
    };
    let email = move || {
        session
            .0
            .with(|m| m.as_ref().map(|m| m.email.clone()).unwrap_or_default())
    };
    view! {
        <a class="skip-link" href="#main">{t(Msg::SkipToContent)}</a>
        <header class="site-header">
            <a class="brand" href=Page::Meetings.path()>{t(Msg::ProductName)}</a>
            {(!forced).then(|| view! {
                <nav class="main-nav" aria-label=t(Msg::MainNav)>
                    <ul>
                        <NavItem page=Page::Meetings label=Msg::NavMeetings />
                        <NavItem page=Page::ChangePassword label=Msg::NavChangePassword />
                        {move || session.can(permission::USERS_VIEW).then(|| view! {
                            <NavItem page=Page::AdminUsers label=Msg::NavUserManagement />
                        })}
                    </ul>
                </nav>
            })}
            <div
                class="user-menu"
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        open.set(false);
                    }
                }
            >
                <button
                    type="button"
                    class="btn-menu"
                    aria-expanded=move || if open.get() { "true" } else { "false" }
                    aria-controls="user-menu-panel"
                    on:click=move |_| open.update(|o| *o = !*o)
                >
                    <span class="visually-hidden">{t(Msg::UserMenu)} ": "</span>
                    {name}
                    <span aria-hidden="true">" ▾"</span>
                </button>
                <div id="user-menu-panel" class="menu-panel" hidden=move || !open.get()>
                    <p class="menu-email">{email}</p>
                    <button
                        type="button"
                        class="btn btn-secondary"
                        aria-disabled=move || signing_out.get().then_some("true")
                        on:click=sign_out
                    >
                        {t(Msg::SignOut)}
                    </button>
                </div>
            </div>
        </header>
    }
}

/// The links between the administration pages, each shown when the user may use it.
#[component]
pub fn AdminNav() -> impl IntoView {
    let session = Session::get();
    let links = [
        (
            permission::USERS_VIEW,
            Page::AdminUsers,
            Msg::NavUserManagement,
        ),
        (permission::ROLES_MANAGE, Page::AdminRoles, Msg::NavRoles),
        (permission::AUDIT_VIEW, Page::AdminAudit, Msg::NavAudit),
        (
            permission::SETTINGS_EDIT,
            Page::AdminSettings,
            Msg::NavSettings,
        ),
    ];
    view! {
        <nav class="sub-nav" aria-label=t(Msg::AdminNav)>
            <ul>
                {links
                    .into_iter()
                    .map(|(perm, page, key)| {
                        move || session.can(perm).then(|| view! { <NavItem page=page label=key /> })
                    })
                    .collect_view()}
            </ul>
        </nav>
    }
}

/// A navigation link whose page's code starts loading when the pointer or the focus reaches it.
#[component]
fn NavItem(page: Page, label: Msg) -> impl IntoView {
    view! {
        <li on:mouseenter=move |_| crate::prefetch(page) on:focusin=move |_| crate::prefetch(page)>
            <A href=page.path()>{t(label)}</A>
        </li>
    }
}
