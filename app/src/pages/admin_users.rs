//! `/admin/users`: find users, change a password, unlock, send a reset.

use std::time::Duration;

use leptos::prelude::*;

use crate::api::admin::UserQuery;
use crate::api::{self, ApiResult};
use crate::components::{
    apply_server_error, check_new_password, unique_id, AdminNav, Alert, AlertKind, Dialog,
    NewPasswordFields, PageHeading, PasswordErrors, PrimaryButton, Session, Shell, TextField,
    Toast,
};
use crate::fmt;
use crate::i18n::{self, t, tf, Msg};
use crate::policy;
use crate::wire::{AdminSetPasswordRequest, AdminUser, PolicyResponse, UserPage};

const PER_PAGE: u32 = 20;
/// Waits this long after the last keystroke in the search box.
const SEARCH_DEBOUNCE: Duration = Duration::from_millis(300);

/// A sortable column: the API's sort key and its header.
const SORTABLE: [(&str, Msg); 4] = [
    ("name", Msg::ColName),
    ("email", Msg::ColEmail),
    ("role", Msg::ColRole),
    ("last_sign_in", Msg::ColLastSignIn),
];

/// "User Management".
#[component]
pub fn AdminUsers() -> impl IntoView {
    view! {
        <Shell>
            <AdminNav />
            <UserTable />
        </Shell>
    }
}

/// Search, sortable columns, paging, row actions and the change-password dialog.
#[component]
fn UserTable() -> impl IntoView {
    let session = Session::get();
    let search = RwSignal::new(String::new());
    let search_error = RwSignal::new(None::<String>);
    let q = RwSignal::new(String::new());
    let sort = RwSignal::new("name");
    let descending = RwSignal::new(false);
    let page = RwSignal::new(1u32);
    let toast = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let target = RwSignal::new(None::<AdminUser>);
    let dialog_open = RwSignal::new(false);

    // Debounce the search box so typing a name sends one request.
    let timer = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |first: Option<()>| {
        let text = search.get();
        if first.is_none() {
            return;
        }
        if let Some(h) = timer.get_value() {
            h.clear();
        }
        let handle = set_timeout_with_handle(
            move || {
                q.try_set(text);
                page.try_set(1);
            },
            SEARCH_DEBOUNCE,
        )
        .ok();
        timer.set_value(handle);
    });
    on_cleanup(move || {
        if let Some(h) = timer.try_get_value().flatten() {
            h.clear();
        }
    });

    let users = LocalResource::new(move || {
        let query = UserQuery {
            q: q.get(),
            sort: sort.get(),
            descending: descending.get(),
            page: page.get(),
            per_page: PER_PAGE,
        };
        async move { api::admin::users(&query).await }
    });
    let policy = LocalResource::new(api::session::my_policy);

    let act = Action::new_local(move |(kind, user): &(Msg, AdminUser)| {
        let (kind, user) = (*kind, user.clone());
        async move {
            let result = match kind {
                Msg::Unlock => api::admin::unlock(user.id).await,
                _ => api::admin::send_reset(user.id).await,
            };
            (kind, user, result)
        }
    });
    Effect::new(move |_| {
        let Some((kind, user, result)) = act.value().get() else {
            return;
        };
        match result {
            Ok(()) => {
                let key = if kind == Msg::Unlock {
                    Msg::UnlockedToast
                } else {
                    Msg::ResetSentToast
                };
                toast.set(Some(tf(key, &[("name", &user.name)])));
                users.refetch();
            }
            Err(e) => error.set(Some(i18n::error_text(&e))),
        }
    });

    let sort_by = move |key: &'static str| {
        if sort.get_untracked() == key {
            descending.update(|d| *d = !*d);
        } else {
            sort.set(key);
            descending.set(false);
        }
        page.set(1);
    };
    let time_zone = move || {
        session
            .0
            .with(|m| m.as_ref().map(|m| m.time_zone.clone()))
            .unwrap_or_default()
    };
    let can_edit = move || session.can(crate::wire::permission::USERS_EDIT);

    view! {
        <PageHeading>{t(Msg::UserManagementHeading)}</PageHeading>
        <Toast message=toast />
        {move || error.get().map(|e| view! { <Alert kind=AlertKind::Error><p>{e}</p></Alert> })}
        <form class="search" role="search" on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
            <TextField
                label=t(Msg::SearchUsers)
                value=search
                error=search_error
                input_type="search"
                hint=t(Msg::SearchUsersHint)
            />
        </form>
        <Transition fallback=|| view! { <p class="loading">{t(Msg::Loading)}</p> }>
            {move || {
                users
                    .get()
                    .map(|result: ApiResult<UserPage>| match result {
                        Err(e) => {
                            view! { <Alert kind=AlertKind::Error><p>{i18n::error_text(&e)}</p></Alert> }
                                .into_any()
                        }
                        Ok(p) => {
                            let pages = p.total.div_ceil(u64::from(p.per_page.max(1))).max(1);
                            let current = u64::from(p.page);
                            let zone = time_zone();
                            view! {
                                <p class="hint">{tf(Msg::UsersTotal, &[("n", &p.total.to_string())])}</p>
                                <div class="table-wrap">
                                    <table class="table">
                                        <thead>
                                            <tr>
                                                {SORTABLE[..2]
                                                    .iter()
                                                    .map(|(key, label)| sort_header(key, *label, sort, descending, sort_by))
                                                    .collect_view()}
                                                <th scope="col">{t(Msg::ColPhone)}</th>
                                                {sort_header(SORTABLE[2].0, SORTABLE[2].1, sort, descending, sort_by)}
                                                <th scope="col">{t(Msg::ColSignInMethod)}</th>
                                                <th scope="col">{t(Msg::ColStatus)}</th>
                                                {sort_header(SORTABLE[3].0, SORTABLE[3].1, sort, descending, sort_by)}
                                                <th scope="col">{t(Msg::ColActions)}</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {p.users
                                                .into_iter()
                                                .map(|u| {
                                                    view! {
                                                        <UserRow
                                                            user=u
                                                            zone=zone.clone()
                                                            can_edit=can_edit()
                                                            on_change_password=Callback::new(move |u: AdminUser| {
                                                                error.set(None);
                                                                target.set(Some(u));
                                                                dialog_open.set(true);
                                                            })
                                                            on_action=Callback::new(move |(kind, u): (Msg, AdminUser)| {
                                                                error.set(None);
                                                                if !act.pending().get_untracked() {
                                                                    act.dispatch_local((kind, u));
                                                                }
                                                            })
                                                        />
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                {(current == 1 && p.total == 0).then(|| view! { <p class="empty">{t(Msg::NoUsers)}</p> })}
                                <nav class="pager" aria-label=tf(Msg::PageOf, &[("page", &current.to_string()), ("pages", &pages.to_string())])>
                                    <button
                                        type="button"
                                        class="btn btn-secondary"
                                        disabled={current <= 1}
                                        on:click=move |_| page.update(|n| *n = n.saturating_sub(1).max(1))
                                    >
                                        {t(Msg::Previous)}
                                    </button>
                                    <span>{tf(Msg::PageOf, &[("page", &current.to_string()), ("pages", &pages.to_string())])}</span>
                                    <button
                                        type="button"
                                        class="btn btn-secondary"
                                        disabled={current >= pages}
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
        <Dialog
            open=dialog_open
            title=Signal::derive(move || {
                target.with(|u| u.as_ref().map(|u| tf(Msg::ChangePasswordFor, &[("name", &u.name)])).unwrap_or_default())
            })
        >
            {move || {
                target
                    .get()
                    .map(|u| {
                        let base = policy.get().and_then(Result::ok);
                        view! {
                            <SetPasswordForm
                                user=u
                                policy=base
                                on_done=Callback::new(move |name: String| {
                                    dialog_open.set(false);
                                    toast.set(Some(tf(Msg::PasswordChangedFor, &[("name", &name)])));
                                    users.refetch();
                                })
                            />
                        }
                    })
            }}
        </Dialog>
    }
}

/// A column header that sorts by `key`, announcing its order with `aria-sort`.
fn sort_header(
    key: &'static str,
    label: Msg,
    sort: RwSignal<&'static str>,
    descending: RwSignal<bool>,
    sort_by: impl Fn(&'static str) + Copy + 'static,
) -> impl IntoView {
    let state = move || {
        if sort.get() != key {
            "none"
        } else if descending.get() {
            "descending"
        } else {
            "ascending"
        }
    };
    view! {
        <th scope="col" aria-sort=state>
            <button type="button" class="btn-sort" on:click=move |_| sort_by(key)>
                {t(label)}
                <span class="sort-mark" aria-hidden="true">
                    {move || match state() {
                        "ascending" => "▲",
                        "descending" => "▼",
                        _ => "↕",
                    }}
                </span>
            </button>
        </th>
    }
}

/// One user, with the actions the signed-in administrator may take.
#[component]
fn UserRow(
    /// The user.
    user: AdminUser,
    /// The administrator's time zone, for "Last sign-in".
    zone: String,
    /// Whether the administrator holds `users:edit`.
    can_edit: bool,
    /// Opens the change-password dialog.
    on_change_password: Callback<AdminUser>,
    /// Unlock (`Msg::Unlock`) or send a reset (`Msg::SendReset`).
    on_action: Callback<(Msg, AdminUser)>,
) -> impl IntoView {
    let reason_id = unique_id("reason");
    let has_reason = user.disabled_reason.is_some();
    let described = has_reason.then(|| reason_id.clone());
    let last = user
        .last_sign_in_at
        .map_or_else(|| t(Msg::Never).to_string(), |s| fmt::date_time(s, &zone));
    let status = match user.status.as_str() {
        "active" => t(Msg::StatusActive).to_string(),
        "deactivated" => t(Msg::StatusDeactivated).to_string(),
        other => other.to_string(),
    };
    let (u1, u2, u3) = (user.clone(), user.clone(), user.clone());
    view! {
        <tr>
            <th scope="row">{user.name.clone()}</th>
            <td>{user.email.clone()}</td>
            <td class="nowrap">{user.phone.clone().unwrap_or_default()}</td>
            <td>{role_label(&user.role)}</td>
            <td>{user.sign_in_method.display_name()}</td>
            <td>
                {status}
                {user.locked.then(|| view! { " " <span class="badge">{t(Msg::Locked)}</span> })}
            </td>
            <td>{last}</td>
            <td class="actions">
                {can_edit.then(|| view! {
                    <button
                        type="button"
                        class="btn btn-small"
                        aria-label=tf(Msg::ChangePasswordFor, &[("name", &user.name)])
                        aria-describedby=described.clone()
                        disabled=!user.can_change_password
                        on:click=move |_| on_change_password.run(u1.clone())
                    >
                        {t(Msg::ChangePasswordAction)}
                    </button>
                    {user.locked.then(|| view! {
                        <button
                            type="button"
                            class="btn btn-small"
                            aria-label=tf(Msg::UnlockFor, &[("name", &user.name)])
                            on:click=move |_| on_action.run((Msg::Unlock, u2.clone()))
                        >
                            {t(Msg::Unlock)}
                        </button>
                    })}
                    <button
                        type="button"
                        class="btn btn-small"
                        aria-label=tf(Msg::SendResetFor, &[("name", &user.name)])
                        aria-describedby=described.clone()
                        disabled=!user.can_send_reset
                        on:click=move |_| on_action.run((Msg::SendReset, u3.clone()))
                    >
                        {t(Msg::SendReset)}
                    </button>
                })}
                {user.disabled_reason.clone().map(|r| view! { <p class="hint" id=reason_id.clone()>{r}</p> })}
            </td>
        </tr>
    }
}

/// The built-in roles' names in the current language; custom roles keep their own.
pub fn role_label(role: &str) -> String {
    match role {
        "owner" => t(Msg::BuiltinOwner).to_string(),
        "admin" => t(Msg::BuiltinAdmin).to_string(),
        "member" => t(Msg::BuiltinMember).to_string(),
        other => other.to_string(),
    }
}

/// The change-password dialog's form.
#[component]
fn SetPasswordForm(
    /// Whose password.
    user: AdminUser,
    /// The account's rules; the words refused are the target user's, not the administrator's.
    policy: Option<PolicyResponse>,
    /// Called with the user's name once the password is set.
    on_done: Callback<String>,
) -> impl IntoView {
    let policy = policy.map(|p| PolicyResponse {
        forbidden_words: policy::forbidden_words(&user.name, &user.email),
        policy: p.policy,
    });
    let policy = Signal::derive(move || policy.clone());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let require_change = RwSignal::new(true);
    let errors = PasswordErrors::default();
    let (id, name) = (user.id, user.name.clone());
    let save = Action::new_local(move |req: &AdminSetPasswordRequest| {
        let req = req.clone();
        async move { api::admin::set_password(id, &req).await }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if save.pending().get_untracked() {
            return;
        }
        errors.clear();
        let (n, c) = (new.get_untracked(), confirm.get_untracked());
        if check_new_password(policy.get_untracked().as_ref(), &n, &c, &errors) {
            save.dispatch_local(AdminSetPasswordRequest {
                new_password: n,
                confirm_password: c,
                require_change: require_change.get_untracked(),
            });
        }
    };
    Effect::new(move |_| {
        let Some(result): Option<ApiResult<()>> = save.value().get() else {
            return;
        };
        match result {
            Ok(()) => on_done.run(name.clone()),
            Err(e) => apply_server_error(&e, &errors),
        }
    });
    let check_id = unique_id("require");
    view! {
        {move || errors.form.get().map(|e| view! { <Alert kind=AlertKind::Error><p>{e}</p></Alert> })}
        <form class="form" novalidate on:submit=on_submit>
            <NewPasswordFields new=new confirm=confirm errors=errors policy=policy strength=false />
            <div class="check">
                <input
                    type="checkbox"
                    id=check_id.clone()
                    prop:checked=move || require_change.get()
                    on:change=move |ev| require_change.set(event_target_checked(&ev))
                />
                <label for=check_id>{t(Msg::RequireChange)}</label>
            </div>
            <PrimaryButton label=t(Msg::Save) busy=save.pending() />
        </form>
    }
}
