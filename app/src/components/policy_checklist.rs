//! The live list of password rules, ticked as the user types.

use leptos::prelude::*;

use crate::i18n::{t, tf, Msg};
use crate::policy::{self, PolicyKind, Violation};
use crate::wire::PolicyResponse;

/// The password rules of the account, each ticked as soon as the typed password meets it,
/// computed with the same [`policy::check`] the server runs. The rules only the server can check
/// (common passwords, history) are listed without a tick. Not a live region: it would talk over
/// every keystroke; the password field points at it with `aria-describedby` instead.
#[component]
pub fn PolicyChecklist(
    /// The element id, for the password field's `aria-describedby`.
    #[prop(into)]
    id: String,
    /// The account's rules; nothing is shown until they are known.
    #[prop(into)]
    policy: Signal<Option<PolicyResponse>>,
    /// The new password.
    #[prop(into)]
    password: Signal<String>,
    /// The confirmation.
    #[prop(into)]
    confirm: Signal<String>,
) -> impl IntoView {
    let rules = move || {
        let Some(p) = policy.get() else {
            return Vec::new();
        };
        let pw = password.get();
        let failed = policy::check(&p.policy, &pw, &p.forbidden_words);
        let mut rules = Vec::new();
        let ok = |v: &Violation| !failed.contains(v);
        let min = Violation::TooShort {
            min: p.policy.min_length,
        };
        rules.push((
            tf(
                Msg::RuleMinLength,
                &[("n", &p.policy.min_length.to_string())],
            ),
            Some(!pw.is_empty() && ok(&min)),
        ));
        if let Some(v @ Violation::TooLong { max }) = failed
            .iter()
            .find(|v| matches!(v, Violation::TooLong { .. }))
        {
            rules.push((
                tf(Msg::RuleMaxLength, &[("n", &max.to_string())]),
                Some(ok(v)),
            ));
        }
        if p.policy.kind == PolicyKind::Classic {
            for (v, key) in [
                (Violation::NeedsLetter, Msg::RuleLetter),
                (Violation::NeedsDigit, Msg::RuleDigit),
                (Violation::NeedsUpper, Msg::RuleUpper),
                (Violation::NeedsLower, Msg::RuleLower),
            ] {
                rules.push((t(key).to_string(), Some(ok(&v))));
            }
        }
        if !p.forbidden_words.is_empty() {
            rules.push((
                t(Msg::RulePersonal).to_string(),
                Some(!pw.is_empty() && ok(&Violation::ContainsPersonalInfo)),
            ));
        }
        rules.push((
            t(Msg::RuleMatch).to_string(),
            Some(
                !pw.is_empty() && confirm.with(|c| policy::normalize(c) == policy::normalize(&pw)),
            ),
        ));
        let server = if p.policy.history_depth > 0 {
            tf(
                Msg::RuleServerChecksHistory,
                &[("n", &p.policy.history_depth.to_string())],
            )
        } else {
            t(Msg::RuleServerChecks).to_string()
        };
        rules.push((server, None));
        rules
    };
    view! {
        <div class="checklist" id=id>
            <p class="checklist-title">{t(Msg::PolicyHeading)}</p>
            <ul>
                {move || {
                    rules()
                        .into_iter()
                        .map(|(text, met)| {
                            let (class, mark, state) = match met {
                                Some(true) => ("rule met", "✓", Some(t(Msg::RuleMet))),
                                Some(false) => ("rule unmet", "○", Some(t(Msg::RuleNotMet))),
                                None => ("rule server", "·", None),
                            };
                            view! {
                                <li class=class>
                                    <span class="rule-mark" aria-hidden="true">{mark}</span>
                                    <span>{text}</span>
                                    {state.map(|s| view! { <span class="visually-hidden">" (" {s} ")"</span> })}
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </div>
    }
}
