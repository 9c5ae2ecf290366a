//! Who may do what in an account: built-in roles, custom roles, and the user-management matrix.

use app::wire::{permission, SignInMethod};

/// A user's role as far as permissions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Owner,
    Admin,
    Member,
    /// A role of the account's own making; `id` is its row, so a rule can tell "the role I hold"
    /// from another with the same permissions.
    Custom {
        id: i64,
        name: String,
        permissions: Vec<String>,
    },
}

impl Role {
    pub fn name(&self) -> &str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Custom { name, .. } => name,
        }
    }

    /// The permissions the role grants. Account settings (the password policy) belong to the owner.
    pub fn permissions(&self) -> Vec<String> {
        let all = || permission::ALL.iter().map(|p| (*p).to_string());
        match self {
            Self::Owner => all().collect(),
            Self::Admin => all().filter(|p| p != permission::SETTINGS_EDIT).collect(),
            Self::Member => Vec::new(),
            Self::Custom { permissions, .. } => permissions.clone(),
        }
    }

    pub fn has(&self, perm: &str) -> bool {
        self.permissions().iter().any(|p| p == perm)
    }
}

/// The person an administrative action is aimed at.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub id: i64,
    pub account_id: i64,
    pub role: &'a Role,
    pub sign_in_method: SignInMethod,
}

/// The person acting.
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    pub id: i64,
    pub account_id: i64,
    pub role: &'a Role,
}

/// Why an action on a user's password is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// Not allowed by the actor's role; the message says why.
    Forbidden(&'static str),
    /// The target signs in with an identity provider: nothing to change here.
    Sso(SignInMethod),
}

/// May `actor` change `target`'s password or send them a reset? The seed: owners, admins and
/// custom roles with full user management. As Zoom does: the owner for anyone, an admin for
/// members and custom-role users (not the owner, not other admins), a custom role with
/// `users:edit` for members only; never across accounts, never oneself (use the profile page).
pub fn may_manage_password(actor: &Actor<'_>, target: &Target<'_>) -> Result<(), Denied> {
    if actor.account_id != target.account_id {
        return Err(Denied::Forbidden("That user is not in your account."));
    }
    if actor.id == target.id {
        return Err(Denied::Forbidden(
            "Change your own password from your profile.",
        ));
    }
    let allowed = match actor.role {
        Role::Owner => true,
        Role::Admin => matches!(target.role, Role::Member | Role::Custom { .. }),
        Role::Custom { .. } if actor.role.has(permission::USERS_EDIT) => {
            matches!(target.role, Role::Member)
        }
        Role::Custom { .. } | Role::Member => {
            return Err(Denied::Forbidden(
                "Your role does not allow managing users.",
            ))
        }
    };
    if !allowed {
        return Err(Denied::Forbidden(
            "Your role does not allow changing this user's password.",
        ));
    }
    if target.sign_in_method != SignInMethod::Password {
        return Err(Denied::Sso(target.sign_in_method));
    }
    Ok(())
}

/// May `actor` give `target` the role `new_role`? Only the owner makes admins; nobody changes the
/// owner's role here; an admin manages members and custom-role users.
pub fn may_assign_role(
    actor: &Actor<'_>,
    target: &Target<'_>,
    new_role: &Role,
) -> Result<(), &'static str> {
    if actor.account_id != target.account_id {
        return Err("That user is not in your account.");
    }
    if matches!(target.role, Role::Owner) || matches!(new_role, Role::Owner) {
        return Err("The owner's role cannot be changed here.");
    }
    match actor.role {
        Role::Owner => Ok(()),
        Role::Admin if !matches!(target.role, Role::Admin) && !matches!(new_role, Role::Admin) => {
            Ok(())
        }
        _ => Err("Your role does not allow assigning this role."),
    }
}

/// A custom role as the panel or the command line defines it: a name that can be told apart and
/// assigned, and permissions that exist and that a custom role may hold. One definition, so the
/// API and `portal role add` refuse the same roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpec {
    name: String,
    permissions: Vec<String>,
}

/// Why a role definition is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadRole {
    /// Blank, over 40 characters, or with characters nobody can see or type (controls,
    /// zero-width and direction marks: two roles that look alike could not be told apart).
    Name,
    /// A built-in role's name (`owner`, `admin`, `member`, `custom`, any case): a custom role of
    /// that name could never be assigned by name.
    Reserved,
    UnknownPermission(String),
    /// `settings:edit`: the account's settings (the password policy) belong to the owner.
    OwnerOnly,
}

/// Invisible characters: format controls (zero-width space and joiners, direction marks and
/// overrides, word joiner, BOM).
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

impl RoleSpec {
    pub fn parse(name: &str, permissions: &[String]) -> Result<Self, BadRole> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 40 || name.chars().any(invisible) {
            return Err(BadRole::Name);
        }
        if ["owner", "admin", "member", "custom"].contains(&name.to_lowercase().as_str()) {
            return Err(BadRole::Reserved);
        }
        let mut perms: Vec<String> = Vec::new();
        for p in permissions {
            if !permission::ALL.contains(&p.as_str()) {
                return Err(BadRole::UnknownPermission(p.clone()));
            }
            if p == permission::SETTINGS_EDIT {
                return Err(BadRole::OwnerOnly);
            }
            if !perms.contains(p) {
                perms.push(p.clone());
            }
        }
        Ok(Self {
            name: name.to_string(),
            permissions: perms,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn permissions(&self) -> &[String] {
        &self.permissions
    }

    pub fn into_parts(self) -> (String, Vec<String>) {
        (self.name, self.permissions)
    }
}

/// A custom role as it stands before a change: what it grants and how many users hold it.
/// `None` in a change: there is no such role (the store then answers "not found").
#[derive(Debug, Clone, Copy)]
pub struct Standing<'a> {
    pub permissions: &'a [String],
    pub holders: i64,
}

/// What an actor does to a custom role.
#[derive(Debug, Clone, Copy)]
pub enum RoleChange<'a> {
    Create {
        permissions: &'a [String],
    },
    Update {
        id: i64,
        permissions: &'a [String],
        was: Option<Standing<'a>>,
    },
    Delete {
        id: i64,
        was: Option<Standing<'a>>,
    },
}

/// May `actor` create, change or delete a custom role? Owners and admins may, as the matrix
/// gives them `roles:manage`. A custom role with `roles:manage` may neither touch the role it
/// holds nor write into any role a permission it lacks: role ids are small integers, and without
/// this its holder rewrites its own role into `users:edit` and takes over members' passwords, or
/// mints a stronger role and has it assigned. Nor may it change or delete a role that grants
/// more than its own, or delete a role anyone holds: a deleted role's holders become members,
/// whose passwords a role with `users:edit` may set, so deleting a colleague's role was a
/// takeover of the colleague's account (OWASP ASVS 5.0 8.2.1, least privilege; OWASP Top 10
/// A01:2021, elevation of privilege).
pub fn may_change_role(actor: &Role, change: &RoleChange<'_>) -> Result<(), &'static str> {
    let held = match actor {
        Role::Owner | Role::Admin => return Ok(()),
        Role::Custom { id, .. } if actor.has(permission::ROLES_MANAGE) => *id,
        _ => return Err("Your role does not allow managing roles."),
    };
    let (target, granted, was) = match change {
        RoleChange::Create { permissions } => (None, *permissions, None),
        RoleChange::Update {
            id,
            permissions,
            was,
        } => (Some(*id), *permissions, *was),
        RoleChange::Delete { id, was } => (Some(*id), &[][..], *was),
    };
    if target == Some(held) {
        return Err("You cannot change or delete a role you hold.");
    }
    let beyond = |perms: &[String]| perms.iter().any(|p| !actor.has(p));
    if beyond(granted) {
        return Err("You cannot grant a permission your own role does not include.");
    }
    if was.is_some_and(|w| beyond(w.permissions)) {
        return Err("You cannot change or delete a role that grants more than your own.");
    }
    if matches!(change, RoleChange::Delete { .. }) && was.is_some_and(|w| w.holders > 0) {
        return Err("You cannot delete a role that users hold: ask an administrator.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn custom(perms: &[&str]) -> Role {
        Role::Custom {
            id: 7,
            name: "helpdesk".into(),
            permissions: perms.iter().map(|p| (*p).to_string()).collect(),
        }
    }

    fn check(
        actor: &Role,
        target: &Role,
        method: SignInMethod,
        same_account: bool,
    ) -> Result<(), Denied> {
        may_manage_password(
            &Actor {
                id: 1,
                account_id: 1,
                role: actor,
            },
            &Target {
                id: 2,
                account_id: if same_account { 1 } else { 2 },
                role: target,
                sign_in_method: method,
            },
        )
    }

    #[test]
    fn the_matrix_of_who_may_change_whose_password() {
        use Role::*;
        let pw = SignInMethod::Password;
        let editor = custom(&[permission::USERS_VIEW, permission::USERS_EDIT]);
        let viewer = custom(&[permission::USERS_VIEW]);
        let targets = [Owner, Admin, Member, custom(&[])];
        let expect = |actor: &Role, allowed: [bool; 4]| {
            for (t, ok) in targets.iter().zip(allowed) {
                assert_eq!(check(actor, t, pw, true).is_ok(), ok, "{actor:?} -> {t:?}");
                assert!(
                    check(actor, t, pw, false).is_err(),
                    "cross-account {actor:?}"
                );
            }
        };
        expect(&Owner, [true, true, true, true]);
        expect(&Admin, [false, false, true, true]);
        expect(&editor, [false, false, true, false]);
        expect(&viewer, [false, false, false, false]);
        expect(&Member, [false, false, false, false]);
    }

    #[test]
    fn sso_users_have_no_password_to_change() {
        assert_eq!(
            check(&Role::Owner, &Role::Member, SignInMethod::Google, true),
            Err(Denied::Sso(SignInMethod::Google))
        );
    }

    #[test]
    fn nobody_changes_their_own_password_from_the_panel() {
        let r = may_manage_password(
            &Actor {
                id: 1,
                account_id: 1,
                role: &Role::Owner,
            },
            &Target {
                id: 1,
                account_id: 1,
                role: &Role::Owner,
                sign_in_method: SignInMethod::Password,
            },
        );
        assert!(r.is_err());
    }

    fn actor(role: &Role) -> Actor<'_> {
        Actor {
            id: 1,
            account_id: 1,
            role,
        }
    }

    #[test]
    fn only_the_owner_makes_admins() {
        let member = Role::Member;
        let t = Target {
            id: 2,
            account_id: 1,
            role: &member,
            sign_in_method: SignInMethod::Password,
        };
        assert!(may_assign_role(&actor(&Role::Owner), &t, &Role::Admin).is_ok());
        assert!(may_assign_role(&actor(&Role::Admin), &t, &Role::Admin).is_err());
        assert!(may_assign_role(&actor(&Role::Admin), &t, &custom(&[])).is_ok());
        assert!(may_assign_role(&actor(&Role::Member), &t, &custom(&[])).is_err());
    }

    fn perms(p: &[&str]) -> Vec<String> {
        p.iter().map(|p| (*p).to_string()).collect()
    }

    #[test]
    fn a_role_is_defined_once_for_the_panel_and_the_command_line() {
        let ok = RoleSpec::parse("  Helpdesk ", &perms(&["users:view", "users:view"])).unwrap();
        assert_eq!(ok.name(), "Helpdesk");
        assert_eq!(ok.permissions(), ["users:view"]);
        for name in [
            "",
            "   ",
            &"x".repeat(41),
            "Help\u{200B}desk",
            "Help\u{202E}desk",
            "a\tb",
        ] {
            assert_eq!(RoleSpec::parse(name, &[]), Err(BadRole::Name), "{name:?}");
        }
        for name in ["admin", "Owner", "MEMBER", "custom"] {
            assert_eq!(RoleSpec::parse(name, &[]), Err(BadRole::Reserved), "{name}");
        }
        assert_eq!(
            RoleSpec::parse("Policy", &perms(&["users:view", "settings:edit"])),
            Err(BadRole::OwnerOnly)
        );
        assert_eq!(
            RoleSpec::parse("Policy", &perms(&["users:fly"])),
            Err(BadRole::UnknownPermission("users:fly".into()))
        );
    }

    fn held(permissions: &[String], holders: i64) -> Standing<'_> {
        Standing {
            permissions,
            holders,
        }
    }

    #[test]
    fn owners_and_admins_change_any_role_members_none() {
        let all = perms(&[permission::USERS_VIEW, permission::USERS_EDIT]);
        for change in [
            RoleChange::Create { permissions: &all },
            RoleChange::Update {
                id: 7,
                permissions: &all,
                was: Some(held(&all, 3)),
            },
            RoleChange::Delete {
                id: 7,
                was: Some(held(&all, 3)),
            },
        ] {
            assert!(may_change_role(&Role::Owner, &change).is_ok());
            assert!(may_change_role(&Role::Admin, &change).is_ok());
            assert!(may_change_role(&Role::Member, &change).is_err());
            assert!(may_change_role(&custom(&[permission::USERS_VIEW]), &change).is_err());
        }
    }

    #[test]
    fn a_custom_role_manager_never_touches_the_role_it_holds() {
        let manager = custom(&[permission::USERS_VIEW, permission::ROLES_MANAGE]);
        let fewer = perms(&[permission::USERS_VIEW]);
        let more = perms(&[permission::USERS_VIEW, permission::USERS_EDIT]);
        for p in [&fewer, &more] {
            let change = RoleChange::Update {
                id: 7,
                permissions: p,
                was: Some(held(&fewer, 0)),
            };
            assert!(may_change_role(&manager, &change).is_err());
        }
        let delete = |id| RoleChange::Delete {
            id,
            was: Some(held(&fewer, 0)),
        };
        assert!(may_change_role(&manager, &delete(7)).is_err());
        assert!(may_change_role(&manager, &delete(8)).is_ok());
    }

    #[test]
    fn a_custom_role_manager_grants_only_what_it_holds() {
        let manager = custom(&[permission::USERS_VIEW, permission::ROLES_MANAGE]);
        let within = perms(&[permission::USERS_VIEW, permission::ROLES_MANAGE]);
        let beyond = perms(&[permission::USERS_VIEW, permission::USERS_EDIT]);
        assert!(may_change_role(
            &manager,
            &RoleChange::Create {
                permissions: &within
            }
        )
        .is_ok());
        assert!(may_change_role(&manager, &RoleChange::Create { permissions: &[] }).is_ok());
        assert!(may_change_role(
            &manager,
            &RoleChange::Create {
                permissions: &beyond
            }
        )
        .is_err());
        let other = |p| RoleChange::Update {
            id: 8,
            permissions: p,
            was: None,
        };
        assert!(may_change_role(&manager, &other(&within)).is_ok());
        assert!(may_change_role(&manager, &other(&beyond)).is_err());
    }

    #[test]
    fn a_custom_role_manager_touches_no_stronger_role_and_deletes_no_held_one() {
        let manager = custom(&[
            permission::USERS_VIEW,
            permission::USERS_EDIT,
            permission::ROLES_MANAGE,
        ]);
        let auditor = perms(&[permission::USERS_VIEW, permission::AUDIT_VIEW]);
        let helper = perms(&[permission::USERS_VIEW, permission::USERS_EDIT]);
        let update = |was| RoleChange::Update {
            id: 8,
            permissions: &[],
            was: Some(was),
        };
        let delete = |was| RoleChange::Delete {
            id: 8,
            was: Some(was),
        };
        // A stronger role: neither changed nor deleted, held or not.
        assert!(may_change_role(&manager, &update(held(&auditor, 0))).is_err());
        assert!(may_change_role(&manager, &delete(held(&auditor, 0))).is_err());
        // A role within its own: changed, but deleted only when nobody holds it, since its
        // holders would become members whose passwords the manager may set.
        assert!(may_change_role(&manager, &update(held(&helper, 2))).is_ok());
        assert!(may_change_role(&manager, &delete(held(&helper, 2))).is_err());
        assert!(may_change_role(&manager, &delete(held(&helper, 0))).is_ok());
        // Owners and admins delete held roles (their holders are users they manage already).
        assert!(may_change_role(&Role::Admin, &delete(held(&auditor, 2))).is_ok());
    }
}
