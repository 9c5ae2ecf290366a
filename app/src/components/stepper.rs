//! The reset flow's progress: Identify · Verify · New password · Done.

use leptos::prelude::*;

use crate::i18n::{t, Msg};

/// The four steps of the reset flow as an ordered list, the current one marked with
/// `aria-current="step"` and the finished ones ticked.
#[component]
pub fn Stepper(
    /// The current step, 0 (Identify) to 3 (Done).
    #[prop(into)]
    current: Signal<usize>,
) -> impl IntoView {
    let steps = [
        Msg::StepIdentify,
        Msg::StepVerify,
        Msg::StepNewPassword,
        Msg::StepDone,
    ];
    view! {
        <ol class="stepper" aria-label=t(Msg::StepsLabel)>
            {steps
                .into_iter()
                .enumerate()
                .map(|(i, key)| {
                    view! {
                        <li
                            class:done=move || i < current.get()
                            class:current=move || i == current.get()
                            aria-current=move || (i == current.get()).then_some("step")
                        >
                            <span class="step-mark" aria-hidden="true">
                                {move || if i < current.get() { "✓".to_string() } else { (i + 1).to_string() }}
                            </span>
                            <span class="step-label">{t(key)}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}
