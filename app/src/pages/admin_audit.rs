//! `/admin/audit`: who did what, filterable by user and event type.

use leptos::prelude::*;

use crate::api::{self, ApiResult};
use crate::components::{AdminNav, Alert, AlertKind, PageHeading, Session, Shell, TextField};
use crate::fmt;
use crate::i18n::{self, t, Msg};
use crate::wire::AuditEvent;

/// "Audit log".
#[component]
pub fn AdminAudit() -> impl IntoView {
    view! {
        <Shell>
            <AdminNav />
            <AuditTable />
        </Shell>
    }
}

/// The filters and one page of events.
#[component]
fn AuditTable() -> impl IntoView {
    let session = Session::get();
    let user = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let no_error = RwSignal::new(None::<String>);
    let no_error2 = RwSignal::new(None::<String>);
    // The filters apply on submit, not per keystroke.
    let applied = RwSignal::new((String::new(), String::new()));
    let page = RwSignal::new(1u32);
    let events = LocalResource::new(move || {
        let (u, k) = applied.get();
        let p = page.get();
        async move { api::admin::audit(&u, &k, p).await }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        applied.set((user.get_untracked(), kind.get_untracked()));
        page.set(1);
    };
    let zone = move || {
        session
            .0
            .with(|m| m.as_ref().map(|m| m.time_zone.clone()))
            .unwrap_or_default()
    };
    view! {
        <PageHeading>{t(Msg::AuditHeading)}</PageHeading>
        <form class="form filters" novalidate on:submit=on_submit>
            <TextField label=t(Msg::FilterUser) value=user error=no_error input_type="email" />
            <TextField label=t(Msg::FilterType) value=kind error=no_error2 />
            <button type="submit" class="btn btn-secondary">{t(Msg::Filter)}</button>
        </form>
        <Transition fallback=|| view! { <p class="loading">{t(Msg::Loading)}</p> }>
            {move || {
                events
                    .get()
                    .map(|result: ApiResult<Vec<AuditEvent>>| match result {
                        Err(e) => view! { <Alert kind=AlertKind::Error><p>{i18n::error_text(&e)}</p></Alert> }.into_any(),
                        Ok(list) => {
                            let empty = list.is_empty();
                            let z = zone();
                            view! {
                                <div class="table-wrap">
                                    <table class="table">
                                        <thead>
                                            <tr>
                                                <th scope="col">{t(Msg::ColTime)}</th>
                                                <th scope="col">{t(Msg::ColType)}</th>
                                                <th scope="col">{t(Msg::ColActor)}</th>
                                                <th scope="col">{t(Msg::ColTarget)}</th>
                                                <th scope="col">{t(Msg::ColIp)}</th>
                                                <th scope="col">{t(Msg::ColDetail)}</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {list
                                                .into_iter()
                                                .map(|e| view! {
                                                    <tr>
                                                        <td>{fmt::date_time(e.at, &z)}</td>
                                                        <td class="mono">{e.kind}</td>
                                                        <td>{e.actor_email.unwrap_or_default()}</td>
                                                        <td>{e.target_email.unwrap_or_default()}</td>
                                                        <td class="mono">{e.ip.unwrap_or_default()}</td>
                                                        <td>{e.detail.unwrap_or_default()}</td>
                                                    </tr>
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                {empty.then(|| view! { <p class="empty">{t(Msg::NoEvents)}</p> })}
                                <nav class="pager" aria-label=t(Msg::NavAudit)>
                                    <button
                                        type="button"
                                        class="btn btn-secondary"
                                        disabled=move || { page.get() <= 1 }
                                        on:click=move |_| page.update(|n| *n = n.saturating_sub(1).max(1))
                                    >
                                        {t(Msg::Previous)}
                                    </button>
                                    <button
                                        type="button"
                                        class="btn btn-secondary"
                                        disabled=empty
                                        on:click=move |_| page.update(|n| *n += 1)
                                    >
                                        {t(Msg::Next)}
                                    </button>
                                </nav>
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}
