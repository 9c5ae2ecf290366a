//! `/meetings`: the signed-in user's upcoming meetings.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::{self, ApiResult};
use crate::components::{replace, Alert, AlertKind, PageHeading, Shell};
use crate::fmt;
use crate::i18n::{self, t, tf, Msg};
use crate::routes::Page;
use crate::wire::MeetingList;

/// "My Meetings": topic, start time in the user's time zone, and meeting ID.
#[component]
pub fn Meetings() -> impl IntoView {
    view! {
        <Shell>
            <MeetingTable />
        </Shell>
    }
}

/// Loads `GET /api/meetings` and shows the table, the empty state, or where to go instead.
#[component]
fn MeetingTable() -> impl IntoView {
    let navigate = use_navigate();
    let list = LocalResource::new(api::meetings);
    Effect::new(move |_| {
        if let Some(Err(e)) = list.get() {
            if e.is_unauthenticated() {
                navigate(&Page::sign_in_then(Page::Meetings.path()), replace());
            } else if e.code() == "password_change_required" {
                navigate(Page::ChoosePassword.path(), replace());
            }
        }
    });
    view! {
        <PageHeading>{t(Msg::MeetingsHeading)}</PageHeading>
        <Transition fallback=|| view! { <p class="loading">{t(Msg::Loading)}</p> }>
            {move || {
                list.get()
                    .map(|result: ApiResult<MeetingList>| match result {
                        Ok(list) if list.meetings.is_empty() => {
                            view! { <p class="empty">{t(Msg::NoMeetings)}</p> }.into_any()
                        }
                        Ok(list) => view! { <MeetingRows list=list /> }.into_any(),
                        Err(e) => {
                            view! { <Alert kind=AlertKind::Error><p>{i18n::error_text(&e)}</p></Alert> }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

/// The meetings as a table; the topic heads each row.
#[component]
fn MeetingRows(
    /// The meetings and the zone to show their times in.
    list: MeetingList,
) -> impl IntoView {
    let zone = list.time_zone.clone();
    view! {
        <div class="table-wrap">
            <table class="table">
                <thead>
                    <tr>
                        <th scope="col">{t(Msg::Topic)}</th>
                        <th scope="col">{t(Msg::Starts)}</th>
                        <th scope="col">{t(Msg::Duration)}</th>
                        <th scope="col">{t(Msg::MeetingId)}</th>
                    </tr>
                </thead>
                <tbody>
                    {list
                        .meetings
                        .into_iter()
                        .map(|m| {
                            view! {
                                <tr>
                                    <th scope="row">{m.topic}</th>
                                    <td>{fmt::date_time(m.starts_at, &zone)}</td>
                                    <td>{tf(Msg::DurationMinutes, &[("n", &m.duration_minutes.to_string())])}</td>
                                    <td class="mono">{m.meeting_id}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <p class="hint">{tf(Msg::TimesShownIn, &[("zone", &list.time_zone)])}</p>
    }
}
