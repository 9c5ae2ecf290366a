//! `/admin/roles`: custom roles and who holds which role.

use leptos::prelude::*;

use super::admin_users::role_label;
use crate::api::admin::UserQuery;
use crate::api::{self, ApiError, ApiResult};
use crate::components::{
    unique_id, AdminNav, Alert, AlertKind, PageHeading, PrimaryButton, Shell, TextField, Toast,
};
use crate::i18n::{self, t, tf, Msg};
use crate::wire::{permission, AssignRoleRequest, Role, RoleRequest};

/// "Roles": create, rename, change and delete custom roles; assign a role to a user.
#[component]
pub fn AdminRoles() -> impl IntoView {
    view! {
        <Shell>
            <AdminNav />
            <RolesBody />
        </Shell>
    }
}

fn permission_label(p: &str) -> &'static str {
    t(match p {
        permission::USERS_VIEW => Msg::PermUsersView,
        permission::USERS_EDIT => Msg::PermUsersEdit,
        permission::ROLES_MANAGE => Msg::PermRolesManage,
        permission::AUDIT_VIEW => Msg::PermAuditView,
        _ => Msg::PermSettingsEdit,
    })
}

/// The role list, the new-role form and the assign-role form, refreshed after each change.
#[component]
fn RolesBody() -> impl IntoView {
    let roles = LocalResource::new(api::admin::roles);
    let toast = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let on_saved = Callback::new(move |msg: String| {
        error.set(None);
        toast.set(Some(msg));
        roles.refetch();
    });
    let on_error = Callback::new(move |e: ApiError| error.set(Some(i18n::error_text(&e))));
    view! {
        <PageHeading>{t(Msg::RolesHeading)}</PageHeading>
        <Toast message=toast />
        {move || error.get().map(|e| view! { <Alert kind=AlertKind::Error><p>{e}</p></Alert> })}
        <Transition fallback=|| view! { <p class="loading">{t(Msg::Loading)}</p> }>
            {move || {
                roles
                    .get()
                    .map(|result: ApiResult<Vec<Role>>| match result {
                        Err(e) => view! { <Alert kind=AlertKind::Error><p>{i18n::error_text(&e)}</p></Alert> }.into_any(),
                        Ok(list) => {
                            let names: Vec<String> = list.iter().map(|r| r.name.clone()).collect();
                            view! {
                                {list.is_empty().then(|| view! { <p class="empty">{t(Msg::NoRoles)}</p> })}
                                <div class="role-list">
                                    {list
                                        .into_iter()
                                        .map(|r| view! { <RoleForm role=Some(r) on_saved=on_saved on_error=on_error /> })
                                        .collect_view()}
                                </div>
                                <h2>{t(Msg::NewRoleHeading)}</h2>
                                <RoleForm role=None on_saved=on_saved on_error=on_error />
                                <AssignRole custom=names on_saved=on_saved on_error=on_error />
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

/// One role's name and permissions, saved with `PUT` (or created with `POST` when `role` is
/// `None`), and its delete button.
#[component]
fn RoleForm(
    /// The role to edit, or `None` for a new one.
    role: Option<Role>,
    /// Called with a success message.
    on_saved: Callback<String>,
    /// Called with a failure.
    on_error: Callback<ApiError>,
) -> impl IntoView {
    let id = role.as_ref().map(|r| r.id);
    let name = RwSignal::new(role.as_ref().map(|r| r.name.clone()).unwrap_or_default());
    let name_error = RwSignal::new(None::<String>);
    let perms = RwSignal::new(
        role.as_ref()
            .map(|r| r.permissions.clone())
            .unwrap_or_default(),
    );
    let legend = role.as_ref().map_or_else(
        || t(Msg::Permissions).to_string(),
        |r| tf(Msg::EditRoleFor, &[("name", &r.name)]),
    );
    let save = Action::new_local(move |req: &RoleRequest| {
        let req = req.clone();
        async move {
            match id {
                Some(id) => api::admin::update_role(id, &req).await,
                None => api::admin::create_role(&req).await,
            }
        }
    });
    let remove = Action::new_local(move |_: &()| async move {
        match id {
            Some(id) => api::admin::delete_role(id).await,
            None => Ok(()),
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if save.pending().get_untracked() {
            return;
        }
        let n = name.get_untracked().trim().to_string();
        if n.is_empty() {
            name_error.set(Some(t(Msg::RoleName).into()));
            return;
        }
        save.dispatch_local(RoleRequest {
            name: n,
            permissions: perms.get_untracked(),
        });
    };
    Effect::new(move |_| match save.value().get() {
        Some(Ok(r)) => {
            if id.is_none() {
                name.set(String::new());
                perms.set(Vec::new());
            }
            on_saved.run(tf(Msg::RoleSaved, &[("name", &r.name)]));
        }
        Some(Err(e)) => on_error.run(e),
        None => {}
    });
    let old_name = role.as_ref().map(|r| r.name.clone()).unwrap_or_default();
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => on_saved.run(tf(Msg::RoleDeleted, &[("name", &old_name)])),
        Some(Err(e)) => on_error.run(e),
        None => {}
    });
    let delete_label = role
        .as_ref()
        .map(|r| tf(Msg::DeleteRoleFor, &[("name", &r.name)]));
    let button = if id.is_some() {
        t(Msg::Rename)
    } else {
        t(Msg::CreateRole)
    };
    view! {
        <form class="form role-form" novalidate on:submit=on_submit>
            <TextField label=t(Msg::RoleName) value=name error=name_error />
            <fieldset>
                <legend>{legend}</legend>
                {permission::ALL
                    .into_iter()
                    .map(|p| {
                        let box_id = unique_id("perm");
                        view! {
                            <div class="check">
                                <input
                                    type="checkbox"
                                    id=box_id.clone()
                                    prop:checked=move || perms.with(|v| v.iter().any(|x| x == p))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        perms.update(|v| {
                                            v.retain(|x| x != p);
                                            if on {
                                                v.push(p.to_string());
                                            }
                                        });
                                    }
                                />
                                <label for=box_id>{permission_label(p)}</label>
                            </div>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <div class="row">
                <PrimaryButton label=button busy=save.pending() />
                {delete_label.map(|label| view! {
                    <button
                        type="button"
                        class="btn btn-danger"
                        aria-label=label
                        on:click=move |_| {
                            if !remove.pending().get_untracked() {
                                remove.dispatch_local(());
                            }
                        }
                    >
                        {t(Msg::Delete)}
                    </button>
                })}
            </div>
        </form>
    }
}

/// Gives a user, found by email, a built-in or custom role.
#[component]
fn AssignRole(
    /// The custom roles' names.
    custom: Vec<String>,
    /// Called with a success message.
    on_saved: Callback<String>,
    /// Called with a failure.
    on_error: Callback<ApiError>,
) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let email_error = RwSignal::new(None::<String>);
    let role = RwSignal::new("member".to_string());
    let select_id = unique_id("role");
    let assign = Action::new_local(move |(email, role): &(String, String)| {
        let (email, role) = (email.clone(), role.clone());
        async move {
            let page = api::admin::users(&UserQuery {
                q: email.clone(),
                sort: "email",
                descending: false,
                page: 1,
                per_page: 20,
            })
            .await?;
            let user = page
                .users
                .into_iter()
                .find(|u| u.email.eq_ignore_ascii_case(&email));
            match user {
                Some(u) => {
                    api::admin::assign_role(u.id, &AssignRoleRequest { role: role.clone() })
                        .await?;
                    Ok(Some((u.name, role)))
                }
                None => Ok(None),
            }
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if assign.pending().get_untracked() {
            return;
        }
        let e = email.get_untracked().trim().to_string();
        if e.is_empty() {
            email_error.set(Some(t(Msg::EnterEmail).into()));
            return;
        }
        assign.dispatch_local((e, role.get_untracked()));
    };
    Effect::new(move |_| {
        let result: Option<ApiResult<Option<(String, String)>>> = assign.value().get();
        match result {
            Some(Ok(Some((name, r)))) => {
                on_saved.run(tf(
                    Msg::RoleAssigned,
                    &[("name", &name), ("role", &role_label(&r))],
                ));
            }
            Some(Ok(None)) => email_error.set(Some(t(Msg::UserNotFound).into())),
            Some(Err(e)) => on_error.run(e),
            None => {}
        }
    });
    let options: Vec<String> = ["admin", "member"]
        .into_iter()
        .map(str::to_string)
        .chain(custom)
        .collect();
    view! {
        <h2>{t(Msg::AssignRoleHeading)}</h2>
        <form class="form" novalidate on:submit=on_submit>
            <TextField label=t(Msg::UserEmail) value=email error=email_error input_type="email" />
            <div class="field">
                <label for=select_id.clone()>{t(Msg::Role)}</label>
                <select id=select_id on:change=move |ev| role.set(event_target_value(&ev))>
                    {options
                        .into_iter()
                        .map(|o| {
                            let selected = o == "member";
                            view! { <option value=o.clone() selected=selected>{role_label(&o)}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <PrimaryButton label=t(Msg::Assign) busy=assign.pending() />
        </form>
    }
}
