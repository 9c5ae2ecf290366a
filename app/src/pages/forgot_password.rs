//! `/forgot_password`: identify, verify the code, choose a new password, done.
//!
//! The step comes from the server's flow state (`GET /api/reset/flow`), not from the page, so a
//! refresh or a second tab resumes where the flow is, and the resend countdown is rebuilt from
//! the server's `resend_after_secs`.

use std::time::Duration;

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, ApiResult};
use crate::components::{
    announce, Alert, AlertKind, ChooseNewPassword, PageHeading, PrimaryButton, PublicPage,
    ResetComplete, Stepper, TextField,
};
use crate::fmt::now_ms;
use crate::i18n::{self, mmss, t, tf, Msg};
use crate::ident;
use crate::routes::Page;
use crate::wire::{Channel, ResetFlow, ResetStep, StartResetRequest, VerifyCodeRequest};

/// Which screen of the flow is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Loading,
    Identify,
    Verify,
    NewPassword,
    Done,
}

impl Step {
    fn index(self) -> usize {
        match self {
            Self::Loading | Self::Identify => 0,
            Self::Verify => 1,
            Self::NewPassword => 2,
            Self::Done => 3,
        }
    }
}

/// The flow as this page knows it.
#[derive(Debug, Clone, Copy)]
struct Flow {
    step: RwSignal<Step>,
    state: RwSignal<Option<ResetFlow>>,
    /// When "Resend code" unlocks, in browser milliseconds.
    resend_at: RwSignal<f64>,
    signed_in: RwSignal<bool>,
}

impl Flow {
    /// Moves to the step the server says the flow is on.
    fn enter(&self, flow: ResetFlow) {
        self.set_resend_after(flow.resend_after_secs);
        self.step.set(match flow.step {
            ResetStep::Verify => Step::Verify,
            ResetStep::NewPassword => Step::NewPassword,
            ResetStep::Done => Step::Done,
        });
        self.state.set(Some(flow));
    }

    fn set_resend_after(&self, secs: u64) {
        // Seconds to milliseconds: exact for any wait a server asks for.
        #[allow(clippy::cast_precision_loss)]
        self.resend_at.set(now_ms() + secs as f64 * 1000.0);
    }

    fn restart(&self) {
        self.state.set(None);
        self.step.set(Step::Identify);
    }
}

/// The forgot-password flow on one route, one step at a time.
#[component]
pub fn ForgotPassword() -> impl IntoView {
    let flow = Flow {
        step: RwSignal::new(Step::Loading),
        state: RwSignal::new(None),
        resend_at: RwSignal::new(0.0),
        signed_in: RwSignal::new(false),
    };
    let resume = LocalResource::new(api::reset::flow);
    Effect::new(move |_| match resume.get() {
        Some(Ok(f)) => {
            if f.step == ResetStep::Done {
                // After a refresh on the last step: the answer to "signed in?" is the session.
                spawn_local(async move {
                    let me = api::session::me().await;
                    flow.signed_in.try_set(me.is_ok());
                });
            }
            flow.enter(f);
        }
        Some(Err(_)) => flow.step.set(Step::Identify),
        None => {}
    });
    let step = Memo::new(move |_| flow.step.get());
    view! {
        <PublicPage>
            <Stepper current=Signal::derive(move || step.get().index()) />
            {move || match step.get() {
                Step::Loading => view! { <p class="loading">{t(Msg::Loading)}</p> }.into_any(),
                Step::Identify => view! { <IdentifyStep flow=flow /> }.into_any(),
                Step::Verify => view! { <VerifyStep flow=flow /> }.into_any(),
                Step::NewPassword => {
                    let policy = Signal::derive(move || {
                        flow.state.with(|s| s.as_ref().and_then(|s| s.policy.clone()))
                    });
                    view! {
                        <ChooseNewPassword
                            policy=policy
                            on_done=Callback::new(move |done: crate::wire::ResetDone| {
                                flow.signed_in.set(done.signed_in);
                                flow.step.set(Step::Done);
                            })
                            on_restart=Callback::new(move |()| {
                                spawn_local(async move {
                                    let _ = api::reset::cancel().await;
                                });
                                flow.restart();
                            })
                        />
                    }
                        .into_any()
                }
                Step::Done => view! { <ResetComplete signed_in=flow.signed_in /> }.into_any(),
            }}
        </PublicPage>
    }
}

/// What step 1 shows above the field.
#[derive(Debug, Clone, PartialEq)]
enum Notice {
    Error(String),
    Sso {
        provider: String,
        url: Option<String>,
    },
}

/// Step 1: "Email or phone number".
#[component]
fn IdentifyStep(
    /// The flow to advance.
    flow: Flow,
) -> impl IntoView {
    let identifier = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<Notice>);
    let input = NodeRef::<html::Input>::new();
    let focus_input = move || {
        if let Some(el) = input.get_untracked() {
            let _ = el.focus();
        }
    };
    let start = Action::new_local(move |req: &StartResetRequest| {
        let req = req.clone();
        async move { api::reset::start(&req).await }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if start.pending().get_untracked() {
            return;
        }
        notice.set(None);
        let value = identifier.get_untracked().trim().to_string();
        let problem = if value.is_empty() {
            Some(Msg::EnterIdentifier)
        } else if ident::classify(&value).is_none() {
            Some(Msg::InvalidIdentifier)
        } else {
            None
        };
        if let Some(key) = problem {
            error.set(Some(t(key).into()));
            focus_input();
            return;
        }
        start.dispatch_local(StartResetRequest { identifier: value });
    };
    Effect::new(move |_| {
        let Some(result): Option<ApiResult<ResetFlow>> = start.value().get() else {
            return;
        };
        match result {
            Ok(f) => {
                announce(tf(
                    Msg::AnnounceCodeSent,
                    &[("destination", &f.masked_destination)],
                ));
                flow.enter(f);
            }
            Err(e) => match (e.code(), e.body.provider) {
                ("sso_account", Some(p)) => notice.set(Some(Notice::Sso {
                    provider: p.display_name().to_string(),
                    url: e
                        .body
                        .recovery_url
                        .clone()
                        .or_else(|| p.recovery_url().map(str::to_string)),
                })),
                ("account_not_found" | "invalid_identifier", _) => {
                    error.set(Some(i18n::error_text(&e)));
                    focus_input();
                }
                _ => notice.set(Some(Notice::Error(i18n::error_text(&e)))),
            },
        }
    });
    view! {
        <PageHeading>{t(Msg::ForgotPasswordHeading)}</PageHeading>
        <p class="lead">{t(Msg::ForgotPasswordIntro)}</p>
        {move || notice.get().map(|n| match n {
            Notice::Error(text) => view! { <Alert kind=AlertKind::Error><p>{text}</p></Alert> }.into_any(),
            Notice::Sso { provider, url } => view! {
                <Alert kind=AlertKind::Info>
                    <p>{tf(Msg::SsoReset, &[("provider", &provider)])}</p>
                    {url.map(|u| view! {
                        <p><a href=u rel="noopener noreferrer">{tf(Msg::SsoRecoveryLink, &[("provider", &provider)])}</a></p>
                    })}
                </Alert>
            }.into_any(),
        })}
        <form class="form" novalidate on:submit=on_submit>
            <TextField
                label=t(Msg::EmailOrPhone)
                value=identifier
                error=error
                autocomplete="username"
                node_ref=input
            />
            <PrimaryButton label=t(Msg::Next) busy=start.pending() />
        </form>
        <p class="aside">
            <a href=Page::SignIn.path()>{t(Msg::BackToSignIn)}</a>
        </p>
    }
}

/// Step 2: "Enter the verification code", with the resend countdown.
#[component]
fn VerifyStep(
    /// The flow to advance.
    flow: Flow,
) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let input = NodeRef::<html::Input>::new();
    let focus_input = move || {
        if let Some(el) = input.get_untracked() {
            let _ = el.focus();
        }
    };

    // The countdown ticks once a second; the deadline itself came from the server.
    let now = RwSignal::new(now_ms());
    if let Ok(handle) = set_interval_with_handle(
        move || {
            now.try_set(now_ms());
        },
        Duration::from_millis(1000),
    ) {
        on_cleanup(move || handle.clear());
    }
    let remaining = Memo::new(move |_| {
        let ms = (flow.resend_at.get() - now.get()).max(0.0);
        // A non-negative count of seconds well inside u64.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let secs = (ms / 1000.0).ceil() as u64;
        secs
    });
    let ready = Memo::new(move |_| remaining.get() == 0);
    // Spoken at the start and the end of a wait only: a live region that ticks every second
    // would talk over everything else.
    let countdown_message = RwSignal::new(String::new());
    Effect::new(move |previous: Option<bool>| {
        let is_ready = ready.get();
        match (previous, is_ready) {
            (_, false) => countdown_message.set(tf(
                Msg::AnnounceResendWait,
                &[("time", &mmss(remaining.get_untracked()))],
            )),
            (Some(false), true) => countdown_message.set(t(Msg::AnnounceResendReady).into()),
            _ => {}
        }
        is_ready
    });

    let verify = Action::new_local(move |req: &VerifyCodeRequest| {
        let req = req.clone();
        async move { api::reset::verify(&req).await }
    });
    let resend = Action::new_local(move |_: &()| api::reset::resend());
    let cancel = Action::new_local(move |_: &()| api::reset::cancel());

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if verify.pending().get_untracked() {
            return;
        }
        notice.set(None);
        match ident::normalize_code(&code.get_untracked()) {
            Some(c) => {
                verify.dispatch_local(VerifyCodeRequest { code: c });
            }
            None => {
                error.set(Some(t(Msg::EnterCode).into()));
                focus_input();
            }
        }
    };
    Effect::new(move |_| {
        let Some(result): Option<ApiResult<ResetFlow>> = verify.value().get() else {
            return;
        };
        match result {
            Ok(f) => {
                announce(t(Msg::AnnounceCodeAccepted));
                flow.enter(f);
            }
            Err(e) if e.code() == "no_flow" => flow.restart(),
            Err(e) => {
                let mut text = i18n::error_text(&e);
                if matches!(e.code(), "code_expired" | "code_exhausted") {
                    text.push(' ');
                    text.push_str(t(Msg::RequestNewCode));
                }
                error.set(Some(text));
                focus_input();
            }
        }
    });

    let on_resend = move |_| {
        if !ready.get_untracked() || resend.pending().get_untracked() {
            return;
        }
        notice.set(None);
        resend.dispatch_local(());
    };
    Effect::new(move |_| {
        let Some(result): Option<ApiResult<ResetFlow>> = resend.value().get() else {
            return;
        };
        match result {
            Ok(f) => {
                code.set(String::new());
                error.set(None);
                announce(tf(
                    Msg::AnnounceCodeSent,
                    &[("destination", &f.masked_destination)],
                ));
                flow.enter(f);
            }
            Err(e) if e.code() == "no_flow" => flow.restart(),
            Err(e) => {
                if let Some(secs) = e.body.retry_after_secs {
                    flow.set_resend_after(secs);
                }
                notice.set(Some(i18n::error_text(&e)));
            }
        }
    });

    let on_different = move |_| {
        if !cancel.pending().get_untracked() {
            cancel.dispatch_local(());
        }
    };
    Effect::new(move |_| {
        // Back to step 1 whatever the answer: a flow the server already dropped is gone too.
        if cancel.value().with(Option::is_some) {
            flow.restart();
        }
    });

    let destination = move || {
        flow.state
            .with(|s| s.as_ref().map(|s| s.masked_destination.clone()))
            .unwrap_or_default()
    };
    let tip = move || {
        flow.state.with(|s| {
            s.as_ref().map(|s| {
                let key = match s.channel {
                    Channel::Email => Msg::SpamTipEmail,
                    Channel::Sms => Msg::SpamTipSms,
                };
                tf(key, &[("sender", &s.sender)])
            })
        })
    };
    let resend_label = move || {
        let secs = remaining.get();
        if secs == 0 {
            t(Msg::ResendCode).to_string()
        } else {
            tf(Msg::ResendCodeIn, &[("time", &mmss(secs))])
        }
    };

    view! {
        <PageHeading>{t(Msg::VerifyHeading)}</PageHeading>
        <p class="lead">{move || tf(Msg::CodeSentTo, &[("destination", &destination())])}</p>
        {move || notice.get().map(|text| view! { <Alert kind=AlertKind::Error><p>{text}</p></Alert> })}
        <form class="form" novalidate on:submit=on_submit>
            <TextField
                label=t(Msg::VerificationCode)
                value=code
                error=error
                inputmode="numeric"
                autocomplete="one-time-code"
                maxlength=7
                node_ref=input
            />
            <PrimaryButton label=t(Msg::Next) busy=verify.pending() />
        </form>
        <div class="resend">
            <button
                type="button"
                class="btn btn-secondary"
                aria-disabled=move || (!ready.get() || resend.pending().get()).then_some("true")
                on:click=on_resend
            >
                {resend_label}
            </button>
            <p class="visually-hidden" aria-live="polite">{move || countdown_message.get()}</p>
        </div>
        <p class="tip">{tip}</p>
        <p class="aside">
            <button type="button" class="btn-link" on:click=on_different>
                {t(Msg::UseDifferentIdentifier)}
            </button>
        </p>
    }
}
