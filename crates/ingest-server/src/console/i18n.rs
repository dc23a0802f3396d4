//! The console's two languages, Portuguese (Brazil) and English: every word it shows, and
//! numbers and dates as each writes them. The browser's `Accept-Language` chooses, unless
//! the user switched (a cookie).

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    PtBr,
}

/// The cookie that keeps a user's choice.
pub const LANG_COOKIE: &str = "ingest_lang";

impl Lang {
    /// The cookie's choice, else the first of the browser's languages we have.
    pub fn of(headers: &HeaderMap) -> Lang {
        if let Some(chosen) = super::cookie(headers, LANG_COOKIE) {
            return Lang::parse(&chosen).unwrap_or(Lang::En);
        }
        let accepted = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        accepted
            .split(',')
            .filter_map(|part| Lang::parse(part.split(';').next().unwrap_or("").trim()))
            .next()
            .unwrap_or(Lang::En)
    }

    pub fn parse(tag: &str) -> Option<Lang> {
        let tag = tag.to_ascii_lowercase();
        if tag.starts_with("pt") {
            Some(Lang::PtBr)
        } else if tag.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The `lang` attribute, and what the rejects download and `Intl` are told.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::PtBr => "pt-BR",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::PtBr => &PT_BR,
        }
    }

    /// An integer with the language's thousands separator.
    pub fn int(self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let sep = match self {
            Lang::En => ',',
            Lang::PtBr => '.',
        };
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(c);
        }
        if n < 0 { format!("-{out}") } else { out }
    }

    /// A moment, to the second, in UTC, as the language writes dates.
    pub fn when(self, t: &DateTime<Utc>) -> String {
        match self {
            Lang::En => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            Lang::PtBr => t.format("%d/%m/%Y %H:%M:%S UTC").to_string(),
        }
    }
}

/// A reject's reason in Portuguese: the engine's reasons are English sentences from a
/// small set of forms, translated here by their start (what follows, a type's or a
/// column's name, stays as it is).
pub fn reason_pt(reason: &str) -> String {
    const FORMS: [(&str, &str); 22] = [
        ("not a number", "não é um número"),
        ("not an integer", "não é um número inteiro"),
        ("out of range for ", "fora do intervalo de "),
        ("not a date", "não é uma data"),
        ("not a timestamp", "não é uma data e hora"),
        ("not a time", "não é um horário"),
        ("not a boolean", "não é um valor lógico"),
        ("not a uuid", "não é um uuid"),
        ("not a label of enum ", "não é um valor do enum "),
        ("not a bytea", "não é um bytea"),
        ("not a multiple of ", "não é múltiplo de "),
        ("more than ", "mais de "),
        ("too many digits for ", "dígitos demais para "),
        ("invalid json array", "array json inválido"),
        ("invalid json", "json inválido"),
        ("null in a NOT NULL column", "vazio numa coluna NOT NULL"),
        (
            "missing: the rule requires a value",
            "faltando: a regra exige um valor",
        ),
        ("empty element", "elemento vazio"),
        ("expected ", "esperado "),
        ("key ", "chave "),
        ("duplicate key", "chave duplicada"),
        ("fails ", "não passa em "),
    ];
    let words: [(&str, &str); 6] = [
        ("(expected ", "(esperado "),
        (" decimal places for ", " casas decimais para "),
        (" or ", " ou "),
        ("before ", "antes de "),
        (
            "absolute value must be below",
            "o valor absoluto deve ser menor que",
        ),
        (" appears twice", " aparece duas vezes"),
    ];
    let mut out = reason.to_string();
    if let Some((en, pt)) = FORMS.iter().find(|(en, _)| reason.starts_with(en)) {
        out = format!("{pt}{}", &reason[en.len()..]);
    }
    for (en, pt) in words {
        out = out.replace(en, pt);
    }
    out
}

/// Every word of the console. `js` are those the script needs, sent to it as JSON.
#[derive(Debug, Serialize)]
pub struct Texts {
    pub title: &'static str,
    pub skip: &'static str,
    pub nav_upload: &'static str,
    pub nav_jobs: &'static str,
    pub language: &'static str,
    pub other_language: &'static str,
    pub other_lang_tag: &'static str,
    pub sign_out: &'static str,
    pub sign_in: &'static str,
    pub token: &'static str,
    pub token_hint: &'static str,
    pub bad_token: &'static str,
    pub upload_heading: &'static str,
    pub file: &'static str,
    pub file_hint: &'static str,
    pub table: &'static str,
    pub filter_tables: &'static str,
    pub choose_table: &'static str,
    pub no_tables: &'static str,
    pub detected: &'static str,
    pub format: &'static str,
    pub encoding: &'static str,
    pub delimiter: &'static str,
    pub decimal_comma: &'static str,
    pub date_format: &'static str,
    pub header_row: &'static str,
    pub sheet: &'static str,
    pub preview: &'static str,
    pub mapping: &'static str,
    pub file_column: &'static str,
    pub table_column: &'static str,
    pub ignore: &'static str,
    pub profile: &'static str,
    pub profile_name: &'static str,
    pub save_profile: &'static str,
    pub mode: &'static str,
    pub mode_append: &'static str,
    pub mode_upsert: &'static str,
    pub mode_replace: &'static str,
    pub key: &'static str,
    pub tolerance: &'static str,
    pub tolerance_hint: &'static str,
    pub check: &'static str,
    pub load: &'static str,
    pub cancel: &'static str,
    pub retry: &'static str,
    pub download_rejects: &'static str,
    pub download_ndjson: &'static str,
    pub rejects: &'static str,
    pub line: &'static str,
    pub column: &'static str,
    pub value: &'static str,
    pub reason: &'static str,
    pub all_columns: &'static str,
    pub filter_reason: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    pub jobs_heading: &'static str,
    pub state: &'static str,
    pub all_states: &'static str,
    pub filter: &'static str,
    pub created: &'static str,
    pub kind: &'static str,
    pub rows: &'static str,
    pub open: &'static str,
    pub no_jobs: &'static str,
    pub job_heading: &'static str,
    pub parameters: &'static str,
    pub source: &'static str,
    pub counts: &'static str,
    pub timeline: &'static str,
    pub error: &'static str,
    pub event: &'static str,
    pub when: &'static str,
    pub errors_heading: &'static str,
    pub js: JsTexts,
}

/// The words the script shows.
#[derive(Debug, Serialize)]
pub struct JsTexts {
    pub uploading: &'static str,
    pub inspecting: &'static str,
    pub check_kind: &'static str,
    pub load_kind: &'static str,
    pub rows_read: &'static str,
    pub would_insert: &'static str,
    pub would_update: &'static str,
    pub unchanged: &'static str,
    pub inserted: &'static str,
    pub updated: &'static str,
    pub rejected: &'static str,
    pub rows_per_second: &'static str,
    pub eta: &'static str,
    pub missing_required: &'static str,
    pub choose_file_and_table: &'static str,
    pub page_of: &'static str,
    pub no_rejects: &'static str,
    pub ignore: &'static str,
    pub saved: &'static str,
    pub refused_records: &'static str,
    pub states: States,
}

#[derive(Debug, Serialize)]
pub struct States {
    pub queued: &'static str,
    pub running: &'static str,
    pub succeeded: &'static str,
    pub failed: &'static str,
    pub cancelled: &'static str,
}

pub static EN: Texts = Texts {
    title: "ingest console",
    skip: "Skip to the content",
    nav_upload: "Load a file",
    nav_jobs: "Jobs",
    language: "Language",
    other_language: "Português (Brasil)",
    other_lang_tag: "pt-BR",
    sign_out: "Sign out",
    sign_in: "Sign in",
    token: "API token",
    token_hint: "The token an operator gave you (ingest token create).",
    bad_token: "That token is unknown or revoked.",
    upload_heading: "Load a file into a table",
    file: "File",
    file_hint: "CSV, TSV, TXT, Excel (xlsx), NDJSON, Parquet or Avro; you can also drop it on this page.",
    table: "Table",
    filter_tables: "Search the tables",
    choose_table: "Choose a table",
    no_tables: "No table you may load into.",
    detected: "What the server detected",
    format: "Format",
    encoding: "Encoding",
    delimiter: "Delimiter",
    decimal_comma: "Decimal comma (1.234,56)",
    date_format: "Date format",
    header_row: "The first row holds the column names",
    sheet: "Sheet",
    preview: "Preview: the first rows as they will be read",
    mapping: "Columns",
    file_column: "File column",
    table_column: "Table column",
    ignore: "(ignore)",
    profile: "Saved mapping",
    profile_name: "Save this mapping as",
    save_profile: "Save mapping",
    mode: "Mode",
    mode_append: "Append",
    mode_upsert: "Upsert by key",
    mode_replace: "Replace the table",
    key: "Key columns",
    tolerance: "Rejected rows tolerated",
    tolerance_hint: "A number of rows, or a share such as 1%. Over it, nothing is written.",
    check: "Check",
    load: "Load",
    cancel: "Cancel",
    retry: "Retry",
    download_rejects: "Download rejects",
    download_ndjson: "Download rejects as NDJSON",
    rejects: "Rejected rows",
    line: "Line",
    column: "Column",
    value: "Value",
    reason: "Reason",
    all_columns: "All columns",
    filter_reason: "Reason contains",
    previous: "Previous",
    next: "Next",
    jobs_heading: "Jobs",
    state: "State",
    all_states: "All states",
    filter: "Filter",
    created: "Created",
    kind: "Kind",
    rows: "Rows",
    open: "Open",
    no_jobs: "No jobs yet.",
    job_heading: "Job",
    parameters: "Parameters",
    source: "Source",
    counts: "Counts",
    timeline: "Timeline",
    error: "Error",
    event: "Event",
    when: "When",
    errors_heading: "There is a problem",
    js: JsTexts {
        uploading: "Uploading",
        inspecting: "Reading the file",
        check_kind: "Check",
        load_kind: "Load",
        rows_read: "rows read",
        would_insert: "would insert",
        would_update: "would update",
        unchanged: "unchanged",
        inserted: "inserted",
        updated: "updated",
        rejected: "rejected",
        rows_per_second: "rows/s",
        eta: "about {s} s left",
        missing_required: "Required table columns with no file column: {cols}",
        choose_file_and_table: "Choose a file and a table first.",
        page_of: "Page {n} of {m}",
        no_rejects: "No rejected rows.",
        ignore: "(ignore)",
        saved: "Saved.",
        refused_records: "records refused",
        states: States {
            queued: "queued",
            running: "running",
            succeeded: "succeeded",
            failed: "failed",
            cancelled: "cancelled",
        },
    },
};

pub static PT_BR: Texts = Texts {
    title: "Console do ingest",
    skip: "Pular para o conteúdo",
    nav_upload: "Carregar arquivo",
    nav_jobs: "Tarefas",
    language: "Idioma",
    other_language: "English",
    other_lang_tag: "en",
    sign_out: "Sair",
    sign_in: "Entrar",
    token: "Token da API",
    token_hint: "O token que a operação lhe deu (ingest token create).",
    bad_token: "Token desconhecido ou revogado.",
    upload_heading: "Carregar um arquivo numa tabela",
    file: "Arquivo",
    file_hint: "CSV, TSV, TXT, Excel (xlsx), NDJSON, Parquet ou Avro; também pode soltá-lo nesta página.",
    table: "Tabela",
    filter_tables: "Procurar tabelas",
    choose_table: "Escolha uma tabela",
    no_tables: "Nenhuma tabela em que você possa carregar.",
    detected: "O que o servidor detectou",
    format: "Formato",
    encoding: "Codificação",
    delimiter: "Separador",
    decimal_comma: "Vírgula decimal (1.234,56)",
    date_format: "Formato de data",
    header_row: "A primeira linha tem os nomes das colunas",
    sheet: "Planilha",
    preview: "Prévia: as primeiras linhas como serão lidas",
    mapping: "Colunas",
    file_column: "Coluna do arquivo",
    table_column: "Coluna da tabela",
    ignore: "(ignorar)",
    profile: "Mapeamento salvo",
    profile_name: "Salvar este mapeamento como",
    save_profile: "Salvar mapeamento",
    mode: "Modo",
    mode_append: "Acrescentar",
    mode_upsert: "Inserir ou atualizar pela chave",
    mode_replace: "Substituir a tabela",
    key: "Colunas da chave",
    tolerance: "Linhas rejeitadas toleradas",
    tolerance_hint: "Um número de linhas, ou uma fração como 1%. Acima disso, nada é gravado.",
    check: "Verificar",
    load: "Carregar",
    cancel: "Cancelar",
    retry: "Tentar de novo",
    download_rejects: "Baixar rejeitadas",
    download_ndjson: "Baixar rejeitadas em NDJSON",
    rejects: "Linhas rejeitadas",
    line: "Linha",
    column: "Coluna",
    value: "Valor",
    reason: "Motivo",
    all_columns: "Todas as colunas",
    filter_reason: "Motivo contém",
    previous: "Anterior",
    next: "Próxima",
    jobs_heading: "Tarefas",
    state: "Situação",
    all_states: "Todas",
    filter: "Filtrar",
    created: "Criada",
    kind: "Tipo",
    rows: "Linhas",
    open: "Abrir",
    no_jobs: "Nenhuma tarefa ainda.",
    job_heading: "Tarefa",
    parameters: "Parâmetros",
    source: "Origem",
    counts: "Contagens",
    timeline: "Linha do tempo",
    error: "Erro",
    event: "Evento",
    when: "Quando",
    errors_heading: "Há um problema",
    js: JsTexts {
        uploading: "Enviando",
        inspecting: "Lendo o arquivo",
        check_kind: "Verificação",
        load_kind: "Carga",
        rows_read: "linhas lidas",
        would_insert: "inseriria",
        would_update: "atualizaria",
        unchanged: "sem mudança",
        inserted: "inseridas",
        updated: "atualizadas",
        rejected: "rejeitadas",
        rows_per_second: "linhas/s",
        eta: "faltam cerca de {s} s",
        missing_required: "Colunas obrigatórias da tabela sem coluna no arquivo: {cols}",
        choose_file_and_table: "Escolha primeiro um arquivo e uma tabela.",
        page_of: "Página {n} de {m}",
        no_rejects: "Nenhuma linha rejeitada.",
        ignore: "(ignorar)",
        saved: "Salvo.",
        refused_records: "registros recusados",
        states: States {
            queued: "na fila",
            running: "em execução",
            succeeded: "concluída",
            failed: "falhou",
            cancelled: "cancelada",
        },
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_languages() {
        assert_eq!(Lang::PtBr.int(1234567), "1.234.567");
        assert_eq!(Lang::En.int(-1234), "-1,234");
        assert_eq!(Lang::En.int(12), "12");
        let mut h = HeaderMap::new();
        h.insert(
            "accept-language",
            "pt-BR,pt;q=0.9,en;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::of(&h), Lang::PtBr);
        h.insert("cookie", "a=1; ingest_lang=en".parse().unwrap());
        assert_eq!(Lang::of(&h), Lang::En);
        assert_eq!(reason_pt("not a number"), "não é um número");
        assert_eq!(
            reason_pt("more than 2 decimal places for numeric(12,2)"),
            "mais de 2 casas decimais para numeric(12,2)"
        );
        assert_eq!(
            reason_pt("not a date (expected dd/mm/yyyy or yyyy-mm-dd)"),
            "não é uma data (esperado dd/mm/yyyy ou yyyy-mm-dd)"
        );
    }
}
