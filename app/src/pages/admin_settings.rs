//! `/admin/settings`: the account's password policy.

use leptos::prelude::*;

use crate::api::{self, ApiResult};
use crate::components::{unique_id, AdminNav, Alert, AlertKind, PageHeading, PrimaryButton, Shell};
use crate::i18n::{self, t, Msg};
use crate::policy::{PolicyConfig, PolicyKind, ABSOLUTE_MAX_LENGTH};
use crate::wire::AccountSettings;

/// "Password settings": modern or classic rules, lengths and history depth.
#[component]
pub fn AdminSettings() -> impl IntoView {
    view! {
        <Shell>
            <AdminNav />
            <SettingsBody />
        </Shell>
    }
}

/// Loads the settings, then shows the form.
#[component]
fn SettingsBody() -> impl IntoView {
    let settings = LocalResource::new(api::admin::settings);
    view! {
        <PageHeading>{t(Msg::SettingsHeading)}</PageHeading>
        <Transition fallback=|| view! { <p class="loading">{t(Msg::Loading)}</p> }>
            {move || {
                settings
                    .get()
                    .map(|result: ApiResult<AccountSettings>| match result {
                        Err(e) => view! { <Alert kind=AlertKind::Error><p>{i18n::error_text(&e)}</p></Alert> }.into_any(),
                        Ok(s) => view! { <SettingsForm initial=s.policy /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

/// The policy form, filled with the saved settings.
#[component]
fn SettingsForm(
    /// The settings as saved.
    initial: PolicyConfig,
) -> impl IntoView {
    let config = RwSignal::new(initial);
    let saved = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let save = Action::new_local(move |req: &AccountSettings| {
        let req = req.clone();
        async move { api::admin::save_settings(&req).await }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if save.pending().get_untracked() {
            return;
        }
        saved.set(false);
        error.set(None);
        let policy = config.get_untracked();
        if let Err(field) = policy.validate() {
            let label = match field {
                "min_length" => t(Msg::MinLength),
                "max_length" => t(Msg::MaxLength),
                _ => t(Msg::HistoryDepth),
            };
            error.set(Some(format!("{label}: {}", t(Msg::ErrUnexpected))));
            return;
        }
        save.dispatch_local(AccountSettings { policy });
    };
    Effect::new(move |_| match save.value().get() {
        Some(Ok(())) => saved.set(true),
        Some(Err(e)) => error.set(Some(i18n::error_text(&e))),
        None => {}
    });
    let kind_radio = move |kind: PolicyKind, label: Msg| {
        let id = unique_id("kind");
        view! {
            <div class="check">
                <input
                    type="radio"
                    name="policy-kind"
                    id=id.clone()
                    prop:checked=move || config.with(|c| c.kind == kind)
                    on:change=move |_| {
                        let defaults = match kind {
                            PolicyKind::Modern => PolicyConfig::modern(),
                            PolicyKind::Classic => PolicyConfig::classic(),
                        };
                        config.update(|c| {
                            c.kind = kind;
                            c.min_length = defaults.min_length;
                        });
                    }
                />
                <label for=id>{t(label)}</label>
            </div>
        }
    };
    let number = move |label: Msg,
                       min: u32,
                       max: u32,
                       get: fn(&PolicyConfig) -> u32,
                       set: fn(&mut PolicyConfig, u32)| {
        let id = unique_id("num");
        view! {
            <div class="field">
                <label for=id.clone()>{t(label)}</label>
                <input
                    type="number"
                    id=id
                    inputmode="numeric"
                    min=min
                    max=max
                    prop:value=move || config.with(|c| get(c).to_string())
                    on:input=move |ev| {
                        if let Ok(v) = event_target_value(&ev).trim().parse::<u32>() {
                            config.update(|c| set(c, v));
                        }
                    }
                />
            </div>
        }
    };
    view! {
        {move || saved.get().then(|| view! { <Alert kind=AlertKind::Success><p>{t(Msg::SettingsSaved)}</p></Alert> })}
        {move || error.get().map(|e| view! { <Alert kind=AlertKind::Error><p>{e}</p></Alert> })}
        <form class="form" novalidate on:submit=on_submit>
            <fieldset>
                <legend>{t(Msg::PolicyKind)}</legend>
                {kind_radio(PolicyKind::Modern, Msg::PolicyModern)}
                {kind_radio(PolicyKind::Classic, Msg::PolicyClassic)}
            </fieldset>
            {number(Msg::MinLength, 8, ABSOLUTE_MAX_LENGTH, |c| c.min_length, |c, v| c.min_length = v)}
            {number(Msg::MaxLength, 64, ABSOLUTE_MAX_LENGTH, |c| c.max_length, |c, v| c.max_length = v)}
            {number(Msg::HistoryDepth, 0, 24, |c| c.history_depth, |c, v| c.history_depth = v)}
            <PrimaryButton label=t(Msg::Save) busy=save.pending() />
        </form>
    }
}
