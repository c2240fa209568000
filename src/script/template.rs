//! Template variables in spoken text, resolved at load time.
//!
//! `{name}`, `{price}`, `{currency}`, `{facts.KEY}`, `{selling_points[i]}` (the product's own
//! fields: only in a product's `lines:` and FAQ answers) and `{persona.name}`,
//! `{persona.greeting}` (everywhere). `{{` and `}}` are literal braces.

use super::diagnostics::closest;

/// What a template may refer to.
pub(crate) struct Scope<'a> {
    pub persona_name: Option<&'a str>,
    pub persona_greeting: Option<&'a str>,
    pub product: Option<ProductVars<'a>>,
}

pub(crate) struct ProductVars<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub price: Option<f64>,
    pub currency: &'a str,
    pub facts: &'a [(String, String)],
    pub selling_points: &'a [String],
}

/// A template problem; `token` is the text as written (e.g. `{nam}`), searched for in the
/// source to point at its exact column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TemplateError {
    pub token: String,
    pub message: String,
    pub help: Option<String>,
}

/// How a price is written and spoken: `99.9`, `199` (not `199.0`).
pub(crate) fn format_price(price: f64) -> String {
    format!("{price}")
}

/// Resolves every variable in `text`. Reports all problems, not just the first.
pub(crate) fn render(text: &str, scope: &Scope<'_>) -> Result<String, Vec<TemplateError>> {
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                chars.next();
                out.push('}');
            }
            '}' => errors.push(TemplateError {
                token: "}".into(),
                message: "unmatched `}` in text".into(),
                help: Some("write `}}` for a literal brace".into()),
            }),
            '{' => {
                let rest = &text[i + 1..];
                let Some(close) = rest
                    .find(['}', '{'])
                    .filter(|&j| rest[j..].starts_with('}'))
                else {
                    errors.push(TemplateError {
                        token: "{".into(),
                        message: "unclosed `{` in text".into(),
                        help: Some(
                            "close the variable with `}`, or write `{{` for a literal brace".into(),
                        ),
                    });
                    continue;
                };
                let var = &rest[..close];
                let token = format!("{{{var}}}");
                // Skip the variable and its closing brace.
                for _ in 0..var.chars().count() + 1 {
                    chars.next();
                }
                match resolve(var.trim(), scope) {
                    Ok(v) => out.push_str(&v),
                    Err((message, help)) => errors.push(TemplateError {
                        token,
                        message,
                        help,
                    }),
                }
            }
            c => out.push(c),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn resolve(var: &str, scope: &Scope<'_>) -> Result<String, (String, Option<String>)> {
    let unknown = |extra: Option<String>| {
        let cands = candidates(scope);
        let help = closest(var, cands.iter().map(String::as_str))
            .map(|c| format!("did you mean `{{{c}}}`?"))
            .or(extra)
            .or_else(|| {
                let all: Vec<String> = cands.iter().map(|c| format!("`{{{c}}}`")).collect();
                Some(format!("available here: {}", all.join(", ")))
            });
        Err((format!("unknown template variable `{{{var}}}`"), help))
    };
    match var {
        "persona.name" => {
            return scope.persona_name.map(str::to_string).ok_or_else(|| {
                (
                    "`{persona.name}` is used but `persona.name` is not set".into(),
                    Some("add `persona: { name: ... }`".into()),
                )
            });
        }
        "persona.greeting" => {
            return scope.persona_greeting.map(str::to_string).ok_or_else(|| {
                (
                    "`{persona.greeting}` is used but `persona.greeting` is not set".into(),
                    Some("add `greeting:` under `persona:`".into()),
                )
            });
        }
        _ => {}
    }
    let is_product_var = matches!(var, "name" | "price" | "currency")
        || var.starts_with("facts.")
        || var.starts_with("selling_points[");
    let Some(p) = &scope.product else {
        if is_product_var {
            return Err((
                format!("`{{{var}}}` is a product variable, not available outside a product"),
                Some("use it in a `product:` segment's `lines:` or in a FAQ answer".into()),
            ));
        }
        return unknown(None);
    };
    match var {
        "name" => return Ok(p.name.to_string()),
        "currency" => return Ok(p.currency.to_string()),
        "price" => {
            return p.price.map(format_price).ok_or_else(|| {
                (
                    format!("`{{price}}` is used but product `{}` has no `price`", p.id),
                    Some("add `price:` to the product".into()),
                )
            });
        }
        _ => {}
    }
    if let Some(key) = var.strip_prefix("facts.") {
        if let Some((_, v)) = p.facts.iter().find(|(k, _)| k == key) {
            return Ok(v.clone());
        }
        return unknown(Some(format!("product `{}` has no fact `{key}`", p.id)));
    }
    if let Some(idx) = var
        .strip_prefix("selling_points[")
        .and_then(|r| r.strip_suffix(']'))
    {
        let Ok(i) = idx.trim().parse::<usize>() else {
            return Err((
                format!("`{{{var}}}`: the index must be a number like `[0]`"),
                None,
            ));
        };
        return p.selling_points.get(i).cloned().ok_or_else(|| {
            let n = p.selling_points.len();
            (
                format!(
                    "`{{{var}}}` is out of range: product `{}` has {n} selling point{}",
                    p.id,
                    if n == 1 { "" } else { "s" }
                ),
                Some(if n == 0 {
                    "add `selling_points:` to the product".into()
                } else {
                    format!("indexes start at 0: use 0..{}", n - 1)
                }),
            )
        });
    }
    unknown(None)
}

fn candidates(scope: &Scope<'_>) -> Vec<String> {
    let mut c = vec!["persona.name".to_string(), "persona.greeting".to_string()];
    if let Some(p) = &scope.product {
        c.extend(["name", "price", "currency"].map(String::from));
        c.extend(p.facts.iter().map(|(k, _)| format!("facts.{k}")));
        c.extend((0..p.selling_points.len()).map(|i| format!("selling_points[{i}]")));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope<'a>(facts: &'a [(String, String)], points: &'a [String]) -> Scope<'a> {
        Scope {
            persona_name: Some("小林"),
            persona_greeting: None,
            product: Some(ProductVars {
                id: "lipstick-01",
                name: "丝绒哑光口红",
                price: Some(199.0),
                currency: "CNY",
                facts,
                selling_points: points,
            }),
        }
    }

    #[test]
    fn resolves_product_and_persona_variables() {
        let facts = vec![("色号".to_string(), "正红色".to_string())];
        let points = vec!["持妆8小时".to_string()];
        let s = scope(&facts, &points);
        assert_eq!(
            render("我是{persona.name}，这款{name}{facts.色号}，{selling_points[0]}，只要{price}元 {{x}}", &s).unwrap(),
            "我是小林，这款丝绒哑光口红正红色，持妆8小时，只要199元 {x}"
        );
        assert_eq!(format_price(99.9), "99.9");
    }

    #[test]
    fn unknown_variables_are_errors_with_suggestions() {
        let facts = vec![("色号".to_string(), "正红色".to_string())];
        let points = vec!["a".to_string(), "b".to_string()];
        let s = scope(&facts, &points);
        let errs = render(
            "{nam} {selling_points[2]} {facts.色} {persona.greeting} }",
            &s,
        )
        .unwrap_err();
        let msgs: Vec<_> = errs
            .iter()
            .map(|e| (e.token.as_str(), e.message.as_str(), e.help.as_deref()))
            .collect();
        assert_eq!(
            msgs[0],
            (
                "{nam}",
                "unknown template variable `{nam}`",
                Some("did you mean `{name}`?")
            )
        );
        assert!(msgs[1].1.contains("has 2 selling points"), "{:?}", msgs[1]);
        assert_eq!(msgs[2].2, Some("did you mean `{facts.色号}`?"));
        assert!(msgs[3].1.contains("not set"));
        assert_eq!(msgs[4].1, "unmatched `}` in text");
    }

    #[test]
    fn product_variables_need_a_product() {
        let s = Scope {
            persona_name: None,
            persona_greeting: None,
            product: None,
        };
        let errs = render("{price}", &s).unwrap_err();
        assert!(errs[0].message.contains("product variable"));
    }
}
