//! A short success note that goes away by itself.

use leptos::prelude::*;

/// Shows `message` in a `role=status` box for a few seconds, then clears it.
#[component]
pub fn Toast(
    /// The note; set it to show the toast, it returns to `None` after a while.
    message: RwSignal<Option<String>>,
) -> impl IntoView {
    let timer = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |_| {
        if message.get().is_some() {
            if let Some(h) = timer.get_value() {
                h.clear();
            }
            let handle = set_timeout_with_handle(
                move || message.set(None),
                std::time::Duration::from_secs(6),
            )
            .ok();
            timer.set_value(handle);
        }
    });
    on_cleanup(move || {
        if let Some(h) = timer.try_get_value().flatten() {
            h.clear();
        }
    });
    view! {
        <div class="toast-region" role="status" aria-live="polite">
            {move || message.get().map(|m| view! { <p class="toast">{m}</p> })}
        </div>
    }
}
