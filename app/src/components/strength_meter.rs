//! The server's strength estimate for the password being typed.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::i18n::{t, Msg};
use crate::wire::{StrengthRequest, StrengthResponse};

/// Waits this long after the last keystroke before asking, so typing sends one request.
const DEBOUNCE: Duration = Duration::from_millis(400);

/// A meter with the server's 0-4 strength score (zxcvbn is too heavy for the bundle), asked for
/// once typing pauses. Guidance only: the policy decides what is accepted. A failed request
/// just hides the meter.
#[component]
pub fn StrengthMeter(
    /// The password to rate.
    #[prop(into)]
    password: Signal<String>,
) -> impl IntoView {
    let result = RwSignal::new(None::<StrengthResponse>);
    let timer = StoredValue::new(None::<TimeoutHandle>);
    // Answers can arrive out of order; only the newest request's answer is shown.
    let seq = StoredValue::new(0u32);
    Effect::new(move |_| {
        let pw = password.get();
        if let Some(h) = timer.get_value() {
            h.clear();
        }
        let n = seq.get_value().wrapping_add(1);
        seq.set_value(n);
        if pw.is_empty() {
            result.set(None);
            return;
        }
        let handle = set_timeout_with_handle(
            move || {
                spawn_local(async move {
                    let answer = api::strength(&StrengthRequest { password: pw }).await.ok();
                    if seq.try_get_value() == Some(n) {
                        result.try_set(answer);
                    }
                });
            },
            DEBOUNCE,
        )
        .ok();
        timer.set_value(handle);
    });
    on_cleanup(move || {
        if let Some(h) = timer.try_get_value().flatten() {
            h.clear();
        }
    });
    view! {
        {move || {
            result
                .get()
                .map(|r| {
                    let label = match r.score {
                        0 => Msg::Strength0,
                        1 => Msg::Strength1,
                        2 => Msg::Strength2,
                        3 => Msg::Strength3,
                        _ => Msg::Strength4,
                    };
                    view! {
                        <div class="strength" data-score=r.score.to_string()>
                            <span>{t(Msg::StrengthLabel)} " "</span>
                            <meter min="0" max="4" low="2" high="3" optimum="4" value=r.score.to_string() aria-hidden="true"></meter>
                            <span class="strength-label">{t(label)}</span>
                            {r.blocklisted.then(|| view! { <p class="field-error">{t(Msg::StrengthBlocklisted)}</p> })}
                        </div>
                    }
                })
        }}
    }
}
