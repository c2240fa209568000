//! What the host says, in the script's language: built-in replies (greeting, thanks, the AI
//! disclosure), answers assembled from facts and product fields, and the "lots of you are
//! asking" opener. Only script text and these templates are spoken — never the viewer's words
//! (the viewer's sanitized display name may be used to address them).

use crate::script::Product;
use crate::voice::Language;

/// Longest display name used to address a viewer (longer ones are skipped, not cut).
const MAX_VIEWER_CHARS: usize = 16;

/// The viewer's name if it is usable in speech.
pub(crate) fn viewer_name(viewer: Option<&str>) -> Option<&str> {
    viewer
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.chars().count() <= MAX_VIEWER_CHARS)
}

/// Reply to a greeting.
pub(crate) fn greeting(lang: Language, persona: &str, viewer: Option<&str>) -> String {
    match lang {
        Language::ZhCn => {
            let who = viewer.map(|v| format!("{v}，")).unwrap_or_default();
            let me = if persona.is_empty() {
                String::new()
            } else {
                format!("我是{persona}，")
            };
            format!("{who}欢迎来到直播间！{me}有什么想了解的尽管问我哦～")
        }
        Language::EnUs => {
            let who = viewer.map(|v| format!(", {v}")).unwrap_or_default();
            let me = if persona.is_empty() {
                String::new()
            } else {
                format!("I'm {persona}. ")
            };
            format!("Hi{who}, welcome to the stream! {me}Ask me anything about tonight's products.")
        }
    }
}

/// Reply to thanks.
pub(crate) fn thanks(lang: Language, viewer: Option<&str>) -> String {
    match lang {
        Language::ZhCn => {
            let who = viewer.unwrap_or("大家");
            format!("谢谢{who}的支持！喜欢的话记得点个关注哦～")
        }
        Language::EnUs => {
            let who = viewer.map(|v| format!(", {v}")).unwrap_or_default();
            format!("Thank you so much{who}! Don't forget to follow for more.")
        }
    }
}

/// The honest answer to "are you a real person?": the host is an AI, set up by the merchant.
pub(crate) fn disclosure(lang: Language, persona: &str) -> String {
    match lang {
        Language::ZhCn => {
            let me = if persona.is_empty() {
                "AI数字人主播".to_string()
            } else {
                format!("AI数字人主播{persona}")
            };
            format!("我不是真人哦，我是{me}，由商家配置的AI为大家讲解～有问题随时问我。")
        }
        Language::EnUs => {
            let me = if persona.is_empty() {
                "an AI digital human host".to_string()
            } else {
                format!("{persona}, an AI digital human host")
            };
            format!(
                "I'm not a real person: I'm {me}, set up by the merchant to present these products. Ask me anything!"
            )
        }
    }
}

/// An answer from a fact: "丝绒哑光口红的净含量是3.5g。" / "The size of the Velvet Matte Lipstick
/// is 3.5 grams."
pub(crate) fn fact(lang: Language, product: &Product, key: &str, value: &str) -> String {
    match lang {
        Language::ZhCn => format!("{}的{key}是{value}。", product.name),
        Language::EnUs => format!("The {key} of the {} is {value}.", product.name),
    }
}

/// The price from the product's fields, written as `{price}` writes it (99.9, 199).
pub(crate) fn price(lang: Language, product: &Product) -> Option<String> {
    let amount = product.price_text()?;
    Some(match lang {
        Language::ZhCn => {
            let unit = match product.currency.as_str() {
                "CNY" | "RMB" | "元" => "元".to_string(),
                "USD" => "美元".to_string(),
                other => other.to_string(),
            };
            format!("{}今天到手价{amount}{unit}！", product.name)
        }
        Language::EnUs => {
            let unit = match product.currency.as_str() {
                "USD" => "dollars".to_string(),
                "CNY" | "RMB" => "yuan".to_string(),
                other => other.to_string(),
            };
            format!("The {} is {amount} {unit} tonight!", product.name)
        }
    })
}

/// How to order, when the product has a link (the link is pushed to the shopping cart).
pub(crate) fn how_to_order(lang: Language, product: &Product) -> Option<String> {
    product.link.as_ref()?;
    Some(match lang {
        Language::ZhCn => format!(
            "点开下方的购物车，找到{}的链接就能直接下单啦～",
            product.name
        ),
        Language::EnUs => format!(
            "Tap the shopping cart below and pick the {} to order it.",
            product.name
        ),
    })
}

/// The opener when many viewers asked the same thing: "好多姐妹问价格，" / "Lots of you are
/// asking about the price — ".
pub(crate) fn many_asked(lang: Language, topic: &str) -> String {
    match lang {
        Language::ZhCn => format!("好多姐妹问{topic}，"),
        Language::EnUs => format!("Lots of you are asking about {topic} — "),
    }
}

/// A topic that says nothing specific, when the specific one would repeat the viewer's words.
pub(crate) fn generic_topic(lang: Language) -> &'static str {
    match lang {
        Language::ZhCn => "这个问题",
        Language::EnUs => "this",
    }
}

/// Addresses one viewer before an answer: "小红，" / "Amy, ".
pub(crate) fn address(lang: Language, viewer: &str) -> String {
    match lang {
        Language::ZhCn => format!("{viewer}，"),
        Language::EnUs => format!("{viewer}, "),
    }
}
