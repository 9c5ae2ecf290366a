//! `/reset#token=…`: the page an emailed reset link opens.
//!
//! The token rides in the fragment, which the browser never sends, so no proxy's access log
//! holds it. It leaves the address bar before anything else happens (`history.replaceState`),
//! so it is not kept in history, bookmarks or a shared screenshot; the server keeps it in an
//! HttpOnly cookie from then on, and a refresh asks `GET /api/reset/link` instead. A link in the
//! query (`?token=`, as links were sent before) still opens.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, ApiResult};
use crate::components::{
    Alert, AlertKind, ChooseNewPassword, PageHeading, PublicPage, ResetComplete, Stepper,
};
use crate::i18n::{self, t, tf, Msg};
use crate::routes::Page;
use crate::wire::{LinkState, OpenLinkRequest, ResetDone};

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Loading,
    Choose(LinkState),
    Done(bool),
    Expired,
    Failed(String),
}

/// Takes `token` out of the address bar (the fragment, else the query) and returns it.
fn take_token() -> Option<String> {
    let window = web_sys::window()?;
    let location = window.location();
    let in_part = |part: Result<String, _>| {
        let part = part.ok()?;
        web_sys::UrlSearchParams::new_with_str(part.trim_start_matches(['#', '?']))
            .ok()?
            .get("token")
            .filter(|t| !t.is_empty())
    };
    let token = in_part(location.hash()).or_else(|| in_part(location.search()))?;
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(Page::ResetLink.path()),
        );
    }
    Some(token)
}

/// The emailed link: choose a new password, then done; or "This link has expired".
#[component]
pub fn ResetLink() -> impl IntoView {
    let token = RwSignal::new(take_token());
    let step = RwSignal::new(Step::Loading);
    // A newer link opened in this tab changes only the fragment: the browser does not load the
    // page again, so the page takes the new token itself.
    let listener = window_event_listener(leptos::ev::hashchange, move |_| {
        if let Some(newer) = take_token() {
            step.set(Step::Loading);
            token.set(Some(newer));
        }
    });
    on_cleanup(move || listener.remove());
    let state = LocalResource::new(move || {
        let token = token.get();
        async move {
            match token {
                Some(token) => api::reset::open_link(&OpenLinkRequest { token }).await,
                None => api::reset::link_state().await,
            }
        }
    });
    Effect::new(move |_| {
        let Some(result): Option<ApiResult<LinkState>> = state.get() else {
            return;
        };
        step.set(match result {
            Ok(s) => Step::Choose(s),
            Err(e) if e.status == 410 || e.code() == "link_expired" => Step::Expired,
            Err(e) => Step::Failed(i18n::error_text(&e)),
        });
    });
    let index = Signal::derive(move || match step.get() {
        Step::Done(_) => 3,
        _ => 2,
    });
    view! {
        <PublicPage>
            <Stepper current=index />
            {move || match step.get() {
                Step::Loading => view! { <p class="loading">{t(Msg::Loading)}</p> }.into_any(),
                Step::Choose(s) => {
                    let subtitle = tf(Msg::ResettingFor, &[("destination", &s.masked_destination)]);
                    view! {
                        <ChooseNewPassword
                            policy=Signal::derive(move || Some(s.policy.clone()))
                            subtitle=subtitle
                            on_done=Callback::new(move |done: ResetDone| step.set(Step::Done(done.signed_in)))
                            on_restart=Callback::new(move |()| {
                                spawn_local(async move {
                                    let _ = api::reset::cancel().await;
                                });
                                step.set(Step::Expired);
                            })
                        />
                    }
                        .into_any()
                }
                Step::Done(signed_in) => view! { <ResetComplete signed_in=signed_in /> }.into_any(),
                Step::Expired => view! {
                    <PageHeading>{t(Msg::LinkExpiredHeading)}</PageHeading>
                    <p>{t(Msg::LinkExpiredText)}</p>
                    <p><a class="btn btn-primary" href=Page::ForgotPassword.path()>{t(Msg::SendNewCode)}</a></p>
                }
                    .into_any(),
                Step::Failed(text) => view! {
                    <PageHeading>{t(Msg::ForgotPasswordHeading)}</PageHeading>
                    <Alert kind=AlertKind::Error><p>{text}</p></Alert>
                    <p><a href=Page::ForgotPassword.path()>{t(Msg::SendNewCode)}</a></p>
                }
                    .into_any(),
            }}
        </PublicPage>
    }
}
