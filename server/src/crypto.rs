//! Secrets and randomness: tokens, verification codes, keyed hashes, and the Argon2id hasher.
//!
//! Codes and tokens are stored only as keyed hashes (OWASP Forgot Password Cheat Sheet: treat
//! reset tokens like passwords at rest), compared in constant time. What must be kept readable
//! for a while (an outbox message holds a live code until it is sent) is sealed with an AEAD.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit as _, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::domain::password::NewPassword;

/// HKDF's `info` for the outbox key: one key per purpose (NIST SP 800-57 Part 1 5.2), so the
/// HMAC of codes and tokens and the encryption of payloads never share a key.
const OUTBOX_KEY_LABEL: &[u8] = b"portal outbox payload XChaCha20-Poly1305 v1";
/// Bytes of a sealed value before its ciphertext.
const NONCE_LEN: usize = 24;

/// The server's keys, all from `PORTAL_SECRET` (or the secret generated on first start): the HMAC
/// key for stored codes and tokens, and the AEAD key for outbox payloads.
#[derive(Clone)]
pub struct Keys {
    key: Arc<SecretBox<Vec<u8>>>,
    // The cipher zeroes its key when dropped.
    seal: Arc<XChaCha20Poly1305>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

impl Keys {
    pub fn new(secret: &SecretString) -> Self {
        let ikm = secret.expose_secret().as_bytes();
        let mut okm = Zeroizing::new([0u8; 32]);
        // HKDF-SHA256 (RFC 5869) expands to 32 bytes, far below its limit of 255 × 32, so this
        // cannot fail; were it ever to, a random key keeps the payloads unreadable rather than
        // sealed under a known one (messages queued then would fail to open elsewhere, loudly).
        if Hkdf::<Sha256>::new(None, ikm)
            .expand(OUTBOX_KEY_LABEL, okm.as_mut())
            .is_err()
        {
            OsRng.fill_bytes(okm.as_mut());
        }
        Self {
            key: Arc::new(SecretBox::new(Box::new(ikm.to_vec()))),
            seal: Arc::new(XChaCha20Poly1305::new(Key::from_slice(okm.as_ref()))),
        }
    }

    /// Encrypts `plaintext` bound to `context` (authenticated, not encrypted): a 192-bit random
    /// nonce, then the XChaCha20-Poly1305 ciphertext and tag. The nonce is random per message, and
    /// at 192 bits collisions are out of reach without a counter shared between instances.
    /// OWASP Cryptographic Storage Cheat Sheet: authenticated encryption, keys kept apart from the
    /// data they protect (the secret is never in the database).
    pub fn seal(&self, context: &[&str], plaintext: &[u8]) -> Result<Vec<u8>, String> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let aad = framed(context);
        let ct = self
            .seal
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| "cannot encrypt the payload".to_string())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// The plaintext of a [`Keys::seal`] output, or `None` when it was sealed under another key or
    /// another context, or altered.
    pub fn open(&self, context: &[&str], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let aad = framed(context);
        self.seal
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .ok()
            .map(Zeroizing::new)
    }

    /// HMAC-SHA256 over the parts, separated unambiguously, as lower-case hex.
    pub fn mac(&self, parts: &[&str]) -> String {
        // The key length is never rejected by HMAC; an empty MAC would fail every comparison.
        let Ok(mut m) = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret()) else {
            return String::new();
        };
        m.update(&framed(parts));
        hex::encode(m.finalize().into_bytes())
    }

    /// The stored form of a verification code: bound to its purpose and user, so a stolen table
    /// row cannot be replayed for another user.
    pub fn code_hash(&self, user_id: Option<i64>, code: &str) -> String {
        self.mac(&["reset-code", &user_id.unwrap_or(0).to_string(), code])
    }

    /// The stored form of a bearer token (session, flow, reset link).
    pub fn token_hash(&self, purpose: &str, token: &str) -> String {
        self.mac(&[purpose, token])
    }
}

/// The parts, each prefixed with its length, so no two lists frame to the same bytes.
fn framed(parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(&(p.len() as u64).to_be_bytes());
        out.extend_from_slice(p.as_bytes());
    }
    out
}

/// Constant-time equality of two stored hashes.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A 256-bit token from the OS CSPRNG, base64url without padding (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A 6-digit code from the CSPRNG, uniform over 000000..=999999.
pub fn new_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// A new random server secret, for first start.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Argon2id with explicit parameters on threads of its own ([`Workers`]): at most `permits`
/// hashes run at once, so a flood of password saves queues instead of exhausting memory, and the
/// async executor never computes a hash itself.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    memory: Memory,
    dummy: Arc<String>,
    workers: Arc<Workers>,
}

/// How much lower than the request threads' the hashing threads' scheduling priority is (a nice
/// value, Linux).
const HASHING_NICENESS: i32 = 10;

/// The threads Argon2 runs on, each at a lower scheduling priority than the threads that serve
/// requests: hashing takes every cycle the requests leave idle, and gives way when a request
/// needs one. On tokio's blocking pool a burst of Saves held both cores of a small machine at the
/// requests' priority, and a request for a code beside it waited behind 20 ms slices of Argon2
/// (bench/README.md, row 4). They stop when the last [`Hasher`] is dropped.
struct Workers {
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

impl Workers {
    fn start(n: usize) -> Result<Self, String> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..n {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(job) = next else { break };
                        // A job that panics fails its caller (its answer channel is dropped),
                        // not this thread.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .map_err(|e| format!("cannot start the hashing threads: {e}"))?;
        }
        Ok(Self { jobs })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(f());
        });
        self.jobs
            .send(job)
            .map_err(|_| "the hashing threads have stopped".to_string())?;
        answered
            .await
            .map_err(|_| "a hashing thread failed".to_string())
    }
}

/// Lowers the calling thread's priority by [`HASHING_NICENESS`], from where the process runs
/// (on Linux `setpriority` with a thread id acts on that thread only). Nothing elsewhere: there it
/// would act on the whole process.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let me = Some(rustix::thread::gettid());
        let lowered = getpriority_process(me)
            .and_then(|nice| setpriority_process(me, (nice + HASHING_NICENESS).min(19)));
        if let Err(e) = lowered {
            tracing::warn!(error = %e, "cannot lower the hashing threads' priority");
        }
    }
}

/// OWASP Password Storage Cheat Sheet / ASVS 5.0 11.4.2: Argon2id, 19 MiB, 2 passes, 1 lane.
pub fn default_params() -> Result<Params, argon2::Error> {
    Params::new(19_456, 2, 1, None)
}

/// Argon2's working memory (19 MiB a hash), kept between hashes instead of asked of the allocator
/// each time. At most `permits` hashes run at once, so the pool never holds more buffers than
/// that: the server's memory stays flat under a flood of saves. (Freed 19 MiB blocks stay in
/// glibc's per-thread arenas, and each blocking thread has its own, so fresh allocations grew
/// the process by hundreds of MiB under load and made every hash fault its pages in again.)
#[derive(Clone)]
struct Memory {
    free: Arc<std::sync::Mutex<Vec<Vec<Block>>>>,
    keep: usize,
}

impl Memory {
    fn new(keep: usize) -> Self {
        Self {
            free: Arc::new(std::sync::Mutex::new(Vec::with_capacity(keep))),
            keep,
        }
    }

    /// Runs `f` on a buffer of `blocks` blocks: a kept one when there is one of that size (hashes
    /// with other parameters, from before a parameter change, get a buffer of their own).
    fn with<R>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
        let kept = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            free.iter()
                .position(|b| b.len() == blocks)
                .map(|i| free.swap_remove(i))
        };
        let mut buf = kept.unwrap_or_else(|| vec![Block::default(); blocks]);
        let r = f(&mut buf);
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.keep {
            free.push(buf);
        }
        r
    }
}

/// Argon2 with the caller's memory, into an `Output` of `len` bytes.
fn compute(
    argon: &Argon2<'_>,
    memory: &Memory,
    blocks: usize,
    password: &[u8],
    salt: &[u8],
    len: usize,
) -> Result<Output, argon2::password_hash::Error> {
    Output::init_with(len, |out| {
        memory
            .with(blocks, |m| {
                argon.hash_password_into_with_memory(password, salt, out, m)
            })
            .map_err(argon2::password_hash::Error::from)
    })
}

/// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) for `password` with a fresh salt.
fn hash_phc(params: &Params, memory: &Memory, password: &[u8]) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = compute(
        &argon,
        memory,
        params.block_count(),
        password,
        salt_bytes,
        len,
    )
    .map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| e.to_string())?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Does `password` match the PHC string `stored`? The string's own algorithm, version and
/// parameters are used, so hashes made with older parameters keep verifying; the comparison is
/// constant-time (`Output`'s equality). Anything unparsable is simply no match.
fn verify_phc(memory: &Memory, password: &[u8], stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let Ok(version) = parsed.version.map(Version::try_from).transpose() else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version.unwrap_or_default(), params.clone());
    compute(
        &argon,
        memory,
        params.block_count(),
        password,
        salt_bytes,
        expected.len(),
    )
    .is_ok_and(|actual| actual == expected)
}

impl Hasher {
    pub fn new(concurrency: usize) -> Result<Self, String> {
        let params = default_params().map_err(|e| e.to_string())?;
        let permits = concurrency.max(1);
        let memory = Memory::new(permits);
        // A real hash of a random password: verifying against it costs what a real verify costs,
        // so an unknown email answers as slowly as a known one (zero2prod). Its working memory is
        // not kept: an idle server holds no Argon2 buffer until the first password is checked.
        let dummy = hash_phc(&params, &Memory::new(0), new_token().as_bytes())?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(permits)),
            memory,
            dummy: Arc::new(dummy),
            workers: Arc::new(Workers::start(permits)?),
        })
    }

    /// Hashes a password that passed the policy: the type is the guard, so nothing unchecked
    /// reaches storage.
    pub async fn hash(&self, password: &NewPassword) -> Result<String, String> {
        self.hash_secret(password.secret()).await
    }

    async fn hash_secret(&self, password: SecretString) -> Result<String, String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        let params = self.params.clone();
        let memory = self.memory.clone();
        self.workers
            .run(move || hash_phc(&params, &memory, password.expose_secret().as_bytes()))
            .await?
    }

    /// Does `password` match any of `hashes`? `None` verifies against the dummy hash and is
    /// always false. The hashes' own parameters are used, so older hashes keep working.
    pub async fn verify_any(
        &self,
        password: SecretString,
        hashes: Vec<Option<String>>,
    ) -> Result<bool, String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        let dummy = self.dummy.clone();
        let memory = self.memory.clone();
        self.workers
            .run(move || {
                let pw = password.expose_secret().as_bytes();
                for h in hashes {
                    match &h {
                        Some(stored) => {
                            if verify_phc(&memory, pw, stored) {
                                return Ok(true);
                            }
                        }
                        None => {
                            verify_phc(&memory, pw, &dummy);
                        }
                    }
                }
                Ok(false)
            })
            .await?
    }

    pub async fn verify(
        &self,
        password: SecretString,
        hash: Option<String>,
    ) -> Result<bool, String> {
        self.verify_any(password, vec![hash]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashing runs below the request threads' priority, so a burst of Saves cannot take the
    /// CPU a request needs.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    #[allow(clippy::unwrap_used)]
    async fn hashes_run_at_a_lower_priority_than_the_threads_that_ask_for_them() {
        use rustix::process::getpriority_process;
        let mine = getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let workers = Workers::start(1).unwrap();
        let theirs = workers
            .run(|| getpriority_process(Some(rustix::thread::gettid())).unwrap())
            .await
            .unwrap();
        assert_eq!(theirs, (mine + HASHING_NICENESS).min(19));
        assert!(mine >= 19 || theirs > mine);
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn tokens_carry_256_bits() {
        let t = new_token();
        assert_eq!(t.len(), 43);
        assert_ne!(t, new_token());
    }

    #[test]
    fn code_hashes_bind_the_user() {
        let k = Keys::new(&SecretString::from("x".repeat(32)));
        assert_ne!(
            k.code_hash(Some(1), "123456"),
            k.code_hash(Some(2), "123456")
        );
        assert!(same(
            &k.code_hash(Some(1), "123456"),
            &k.code_hash(Some(1), "123456")
        ));
        // Length-prefixing keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(k.mac(&["ab", "c"]), k.mac(&["a", "bc"]));
    }

    #[test]
    fn sealed_payloads_open_only_with_the_same_secret_and_context() {
        let k = Keys::new(&SecretString::from("x".repeat(32)));
        let sealed = k.seal(&["a", "b"], b"code: 123456").unwrap_or_default();
        assert_eq!(
            k.open(&["a", "b"], &sealed).as_deref().map(Vec::as_slice),
            Some(&b"code: 123456"[..])
        );
        assert!(!sealed.windows(6).any(|w| w == b"123456"));
        // A fresh nonce each time: the same message never seals to the same bytes.
        assert_ne!(
            sealed,
            k.seal(&["a", "b"], b"code: 123456").unwrap_or_default()
        );
        // Another row's context, another secret, or a flipped bit: nothing opens.
        assert!(k.open(&["a", "c"], &sealed).is_none());
        assert!(k.open(&["ab"], &sealed).is_none());
        let other = Keys::new(&SecretString::from("y".repeat(32)));
        assert!(other.open(&["a", "b"], &sealed).is_none());
        let mut bent = sealed.clone();
        if let Some(last) = bent.last_mut() {
            *last ^= 1;
        }
        assert!(k.open(&["a", "b"], &bent).is_none());
        assert!(k.open(&["a", "b"], &sealed[..10]).is_none());
    }

    #[tokio::test]
    async fn hashes_verify_and_use_argon2id_with_the_chosen_parameters() {
        let h = Hasher::new(1).unwrap_or_else(|e| panic!("{e}"));
        let hash = h
            .hash_secret(SecretString::from("correct horse battery staple"))
            .await
            .unwrap_or_default();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(h
            .verify(
                SecretString::from("correct horse battery staple"),
                Some(hash.clone())
            )
            .await
            .unwrap_or(false));
        assert!(!h
            .verify(SecretString::from("wrong"), Some(hash))
            .await
            .unwrap_or(true));
        assert!(!h
            .verify(SecretString::from("anything"), None)
            .await
            .unwrap_or(true));
    }

    /// The pooled computation is the argon2 crate's, byte for byte: hashes stored before (made by
    /// `PasswordHasher::hash_password`, with other parameters too) verify, and ours verify with
    /// the crate's own verifier.
    #[tokio::test]
    async fn pooled_hashes_interoperate_with_the_crate_and_with_older_parameters() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let h = Hasher::new(2).unwrap_or_else(|e| panic!("{e}"));
        let pw = "Velvet-Harbor-Quartz-Mosaic-7319";
        for params in [
            default_params().unwrap_or_else(|e| panic!("{e}")),
            Params::new(4_096, 3, 1, None).unwrap_or_else(|e| panic!("{e}")),
        ] {
            let salt = SaltString::generate(&mut OsRng);
            let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(pw.as_bytes(), &salt)
                .map(|p| p.to_string())
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(h
                .verify(SecretString::from(pw), Some(theirs.clone()))
                .await
                .unwrap_or(false));
            assert!(!h
                .verify(
                    SecretString::from("Velvet-Harbor-Quartz-Mosaic-7318"),
                    Some(theirs)
                )
                .await
                .unwrap_or(true));
        }
        let ours = h
            .hash_secret(SecretString::from(pw))
            .await
            .unwrap_or_default();
        let parsed = PasswordHash::new(&ours).unwrap_or_else(|e| panic!("{e}"));
        assert!(Argon2::default()
            .verify_password(pw.as_bytes(), &parsed)
            .is_ok());
        // Two hashes of one password differ (fresh salt), and garbage never matches.
        assert_ne!(
            ours,
            h.hash_secret(SecretString::from(pw))
                .await
                .unwrap_or_default()
        );
        assert!(!h
            .verify(
                SecretString::from(pw),
                Some("$argon2id$v=19$nonsense".into())
            )
            .await
            .unwrap_or(true));
    }
}
