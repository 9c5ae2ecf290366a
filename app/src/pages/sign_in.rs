//! `/signin`

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{self, ApiError, ApiResult};
use crate::components::{
    replace, Alert, AlertKind, PageHeading, PasswordField, PrimaryButton, PublicPage, Session,
    TextField,
};
use crate::i18n::{self, t, tf, Msg};
use crate::routes::{safe_next, Page};
use crate::wire::{Me, SignInRequest};

/// What the form says above the fields after a failed attempt.
#[derive(Debug, Clone, PartialEq)]
enum Notice {
    Error(String),
    /// The account signs in with an identity provider.
    Sso {
        provider: String,
        url: Option<String>,
    },
}

/// Email and password sign-in. A wrong email and a wrong password get the same answer from the
/// server, so the message is shown for the form, not on a field.
#[component]
pub fn SignIn() -> impl IntoView {
    let session = Session::get();
    let navigate = use_navigate();
    let query = use_query_map();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let email_error = RwSignal::new(None::<String>);
    let password_error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<Notice>);

    let submit = Action::new_local(move |req: &SignInRequest| {
        let req = req.clone();
        async move { api::session::sign_in(&req).await }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if submit.pending().get_untracked() {
            return;
        }
        notice.set(None);
        let (e, p) = (
            email.get_untracked().trim().to_string(),
            password.get_untracked(),
        );
        if e.is_empty() {
            email_error.set(Some(t(Msg::EnterEmail).into()));
        }
        if p.is_empty() {
            password_error.set(Some(t(Msg::EnterPassword).into()));
        }
        if e.is_empty() || p.is_empty() {
            return;
        }
        submit.dispatch_local(SignInRequest {
            email: e,
            password: p,
        });
    };
    Effect::new(move |_| {
        let Some(result): Option<ApiResult<Me>> = submit.value().get() else {
            return;
        };
        match result {
            Ok(me) => {
                let target = if me.must_change_password {
                    Page::ChoosePassword.path().to_string()
                } else {
                    query
                        .with_untracked(|q| q.get("next"))
                        .as_deref()
                        .and_then(safe_next)
                        .unwrap_or(Page::Meetings.path())
                        .to_string()
                };
                session.0.set(Some(me));
                navigate(&target, replace());
            }
            Err(e) => notice.set(Some(notice_for(&e))),
        }
    });

    view! {
        <PublicPage>
            <PageHeading>{t(Msg::SignInHeading)}</PageHeading>
            {move || notice.get().map(|n| match n {
                Notice::Error(text) => view! { <Alert kind=AlertKind::Error><p>{text}</p></Alert> }.into_any(),
                Notice::Sso { provider, url } => view! {
                    <Alert kind=AlertKind::Info>
                        <p>{tf(Msg::SsoSignIn, &[("provider", &provider)])}</p>
                        {url.map(|u| view! {
                            <p><a href=u rel="noopener noreferrer">{tf(Msg::SsoGoToProvider, &[("provider", &provider)])}</a></p>
                        })}
                    </Alert>
                }.into_any(),
            })}
            <form class="form" novalidate on:submit=on_submit>
                <TextField
                    label=t(Msg::Email)
                    value=email
                    error=email_error
                    input_type="email"
                    autocomplete="username"
                />
                <PasswordField label=t(Msg::Password) value=password error=password_error />
                <PrimaryButton label=t(Msg::SignInButton) busy=submit.pending() />
            </form>
            <p class="aside">
                <a href=Page::ForgotPassword.path()>{t(Msg::ForgotPasswordLink)}</a>
            </p>
        </PublicPage>
    }
}

fn notice_for(e: &ApiError) -> Notice {
    match (e.code(), e.body.provider) {
        ("sso_account", Some(p)) => Notice::Sso {
            provider: p.display_name().to_string(),
            url: e
                .body
                .recovery_url
                .clone()
                .or_else(|| p.recovery_url().map(str::to_string)),
        },
        _ => Notice::Error(i18n::error_text(e)),
    }
}
