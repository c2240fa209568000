//! jieba's Chinese word segmentation, shared by every stage that cuts words (the brain's index,
//! chat moderation, the voice's Mandarin front end).

use std::sync::OnceLock;

use jieba_rs::Jieba;

/// jieba's default dictionary, loaded once per process (about 0.2 s, about 40 MiB) and shared
/// read-only. One copy: each stage loading its own cost about 80 MiB of RSS for nothing.
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}
