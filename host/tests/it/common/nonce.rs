//! A guest component made new: the same code with a custom section
//! appended, so a registry judges it as a guest it has never seen.
//! Included by the tests' and the benches' common modules.

/// The same component with a custom section added: other bytes (another
/// SHA-256), the same code.
pub fn with_nonce(component: &[u8], nonce: &str) -> Vec<u8> {
    let name = b"hellowatt-test-nonce";
    let mut content = vec![name.len() as u8];
    content.extend_from_slice(name);
    content.extend_from_slice(nonce.as_bytes());
    let mut out = component.to_vec();
    out.push(0); // custom section
    let mut n = content.len();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(&content);
    out
}
