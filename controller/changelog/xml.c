/* chlog xml: reads one Liquibase XML changelog into the node tree of node.h.
 *
 * The mapping is Liquibase's XMLChangeLogSAXHandler (4.33.0,
 * liquibase/parser/core/xml/XMLChangeLogSAXHandler.java), a namespace-aware
 * SAX handler:
 *   - an element becomes a node named by its local name (the prefix of
 *     <ext:createView> is dropped: the node is "createView");
 *   - its attributes become child nodes first, in document order, named by
 *     their local name, valued as written (not trimmed).  Namespace
 *     declarations (xmlns, xmlns:x) are not attributes in SAX, so they are
 *     left out; xsi:schemaLocation is an attribute, so it becomes a child
 *     "schemaLocation" exactly as in Liquibase's ParsedNode (readers ignore
 *     it, as DatabaseChangeLog.load does);
 *   - child elements follow, in document order;
 *   - the element's own text (its direct text and CDATA pieces joined, not
 *     its descendants') is the value after Java's String.trim() (ASCII
 *     control characters and spaces at both ends), and only when it is not
 *     empty after trimming;
 *   - comments and processing instructions are ignored;
 *   - the root must be databaseChangeLog ("\"databaseChangeLog\" expected as
 *     root element", as XMLChangeLogSAXHandler.startElement throws).
 *
 * Safety: a changelog from Git is untrusted.  libxml2 (2.9.14) parses from
 * memory with XML_PARSE_NONET and never with XML_PARSE_NOENT, DTDLOAD,
 * DTDVALID or XINCLUDE, so no external entity, external DTD or XSD
 * (xsi:schemaLocation) is ever read.  On top of that, per parse context, the
 * SAX entity-declaration handlers refuse any <!ENTITY> (general or
 * parameter) and a DOCTYPE naming an external DTD, and stop the parser on the
 * spot: Liquibase changelogs never need them, and refusing them first means
 * no entity is ever expanded, so billion-laughs inputs end at their first
 * declaration.  The entity resolver is replaced by one that loads nothing.
 *
 * Errors: libxml2's messages are captured through the context's structured
 * error handler (sax->serror, per parse: no process-wide handler, nothing
 * printed to stderr); the thread-local generic and structured handlers are
 * also pointed at this parse for the few errors libxml2 raises without a
 * context, and restored afterwards.  The first error wins and becomes
 * TM_E_PARSE "file:line: <libxml2 message>".  xmlInitParser() runs once
 * (pthread_once) before the first parse; after that libxml2 2.9 parses on
 * several threads at once as long as each uses its own context.
 *
 * Does not: expand ${} properties or interpret anything (lbparse.c does). */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "changelog/chlog_int.h"
#include "changelog/node.h"
#include "common/buf.h"
#include "common/caps.h"

/* One parse: where the first error goes. */
struct xml_rd {
    const char *path;   /* fs path, for messages */
    bool failed;
    enum tm_code code;
    int line;
    char msg[200];
};

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

static void rd_fail(struct xml_rd *rd, enum tm_code code, int line, const char *msg)
{
    if (rd->failed)
        return;
    rd->failed = true;
    rd->code = code;
    rd->line = line;
    snprintf(rd->msg, sizeof(rd->msg), "%s", msg ? msg : "XML error");
    /* libxml2 messages end with a newline */
    size_t n = strlen(rd->msg);
    while (n > 0 && (rd->msg[n - 1] == '\n' || rd->msg[n - 1] == ' '))
        rd->msg[--n] = '\0';
}

static void rd_from_error(struct xml_rd *rd, const xmlError *e)
{
    if (!e || e->level < XML_ERR_ERROR)
        return; /* warnings (e.g. a relative namespace URI) are not fatal */
    enum tm_code code = e->code == XML_ERR_NO_MEMORY ? TM_E_NOMEM : TM_E_PARSE;
    rd_fail(rd, code, e->line, e->message);
}

static int ctxt_line(xmlParserCtxtPtr ctxt)
{
    return ctxt && ctxt->input ? ctxt->input->line : 0;
}

/* sax->serror: libxml2 calls it with the context's userData (the context). */
static void on_ctxt_error(void *data, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = data;
    if (ctxt && ctxt->_private)
        rd_from_error(ctxt->_private, e);
}

/* Thread-local fallback for errors raised without a parser context. */
static void on_thread_error(void *data, xmlErrorPtr e)
{
    rd_from_error(data, e);
}

static void on_generic_error(void *data, const char *fmt, ...)
{
    (void)data;
    (void)fmt; /* unformatted pieces; the structured handler has the message */
}

static void refuse(xmlParserCtxtPtr ctxt, const char *what, const xmlChar *name)
{
    struct xml_rd *rd = ctxt->_private;
    char msg[200];
    snprintf(msg, sizeof(msg),
             "%s%s%s refused: a changelog may not declare entities or load a DTD (XML "
             "external entities and entity expansion are not allowed)",
             what, name ? " " : "", name ? (const char *)name : "");
    rd_fail(rd, TM_E_PARSE, ctxt_line(ctxt), msg);
    xmlStopParser(ctxt);
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    (void)type;
    (void)public_id;
    (void)system_id;
    (void)content;
    refuse(ctx, "<!ENTITY>", name);
}

static void on_unparsed_entity_decl(void *ctx, const xmlChar *name, const xmlChar *public_id,
                                    const xmlChar *system_id, const xmlChar *notation)
{
    (void)public_id;
    (void)system_id;
    (void)notation;
    refuse(ctx, "<!ENTITY>", name);
}

static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id)
{
    if (external_id || system_id) {
        refuse(ctx, "<!DOCTYPE> with an external DTD", system_id ? system_id : external_id);
        return;
    }
    xmlSAX2InternalSubset(ctx, name, external_id, system_id);
}

static void on_external_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id)
{
    (void)ctx;
    (void)name;
    (void)external_id;
    (void)system_id; /* never load an external subset */
}

static xmlParserInputPtr on_resolve_entity(void *ctx, const xmlChar *public_id,
                                           const xmlChar *system_id)
{
    (void)public_id;
    refuse(ctx, "external entity", system_id);
    return NULL;
}

/* Java's String.trim(): drops chars <= ' ' at both ends. */
static void java_trim(const char *s, size_t len, const char **start, size_t *n)
{
    size_t b = 0, e = len;
    while (b < e && (unsigned char)s[b] <= ' ')
        b++;
    while (e > b && (unsigned char)s[e - 1] <= ' ')
        e--;
    *start = s + b;
    *n = e - b;
}

static int node_line(const xmlNode *x)
{
    long l = xmlGetLineNo(x);
    return l > 0 && l < 0x7fffffff ? (int)l : 0;
}

/* Builds the node for element x under parent (or as *out when parent is
 * NULL). */
static enum tm_code build(struct chlog_ld *ld, const char *file, const xmlNode *x,
                          struct chlog_node *parent, struct chlog_node **out,
                          struct tm_err *err)
{
    int line = node_line(x);
    struct chlog_node *n = parent
                               ? chlog_node_add_new(parent, (const char *)x->name, NULL, line, 0)
                               : chlog_node_new((const char *)x->name, NULL, file, line, 0);
    if (!n)
        return tm_err_set(err, TM_E_NOMEM, "%s: out of memory", file);
    if (out)
        *out = n;
    for (const xmlAttr *a = x->properties; a; a = a->next) {
        xmlChar *v = xmlNodeGetContent((const xmlNode *)a);
        struct chlog_node *k =
            chlog_node_add_new(n, (const char *)a->name, v ? (const char *)v : "", line, 0);
        xmlFree(v);
        if (!k)
            return tm_err_set(err, TM_E_NOMEM, "%s: out of memory", file);
    }
    struct tm_buf text;
    tm_buf_init(&text, TM_CAP_CHANGELOG_FILE);
    enum tm_code rc = TM_OK;
    for (const xmlNode *c = x->children; c && rc == TM_OK; c = c->next) {
        switch (c->type) {
        case XML_ELEMENT_NODE:
            rc = build(ld, file, c, n, NULL, err);
            break;
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            if (c->content && tm_buf_adds(&text, (const char *)c->content) != TM_OK)
                rc = chlog_ld_fail(err, TM_E_TOOBIG, file, node_line(c), 0,
                                   "element <%s>: text longer than %u bytes",
                                   (const char *)x->name, (unsigned)TM_CAP_CHANGELOG_FILE);
            break;
        case XML_ENTITY_REF_NODE:
            /* unreachable: entity declarations are refused while parsing */
            rc = chlog_ld_fail(err, TM_E_PARSE, file, node_line(c), 0,
                               "entity reference &%s; refused", (const char *)c->name);
            break;
        default:
            break; /* comments, processing instructions */
        }
    }
    if (rc == TM_OK && text.len > 0) {
        const char *s;
        size_t len;
        java_trim(tm_buf_str(&text), text.len, &s, &len);
        if (len > 0) {
            n->value = strndup(s, len);
            if (!n->value)
                rc = tm_err_set(err, TM_E_NOMEM, "%s: out of memory", file);
        }
    }
    tm_buf_release(&text);
    return rc;
}

enum tm_code chlog_xml_read(struct chlog_ld *ld, const char *path, struct chlog_node **root,
                            struct tm_err *err)
{
    *root = NULL;
    char *data = NULL;
    size_t len = 0;
    const char *file = NULL;
    enum tm_code rc = chlog_ld_read_kept(ld, path, &data, &len, &file, err);
    if (rc != TM_OK)
        return rc;
    (void)pthread_once(&xml_once, xml_init);

    struct xml_rd rd = {.path = file};
    xmlDocPtr doc = NULL;
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        free(data);
        return tm_err_set(err, TM_E_NOMEM, "%s: out of memory", file);
    }
    ctxt->_private = &rd;
    /* ctxt->sax is this context's own copy of the SAX2 handlers */
    ctxt->sax->serror = on_ctxt_error;
    ctxt->sax->entityDecl = on_entity_decl;
    ctxt->sax->unparsedEntityDecl = on_unparsed_entity_decl;
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->externalSubset = on_external_subset;
    ctxt->sax->resolveEntity = on_resolve_entity;

    /* thread-local handlers (libxml2 keeps them per thread) */
    xmlGenericErrorFunc old_generic = xmlGenericError;
    void *old_generic_ctx = xmlGenericErrorContext;
    xmlStructuredErrorFunc old_structured = xmlStructuredError;
    void *old_structured_ctx = xmlStructuredErrorContext;
    xmlSetGenericErrorFunc(NULL, on_generic_error);
    xmlSetStructuredErrorFunc(&rd, on_thread_error);

    /* No NOENT, DTDLOAD, DTDATTR, DTDVALID or XINCLUDE: see the header. */
    int opts = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES;
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, file, NULL, opts);

    xmlSetGenericErrorFunc(old_generic_ctx, old_generic);
    xmlSetStructuredErrorFunc(old_structured_ctx, old_structured);

    if (!rd.failed && (!doc || !ctxt->wellFormed))
        rd_from_error(&rd, &ctxt->lastError);
    if (!rd.failed && !doc)
        rd_fail(&rd, TM_E_PARSE, ctxt_line(ctxt), "not a well-formed XML document");
    free(data);
    data = NULL;
    if (rd.failed) {
        rc = chlog_ld_fail(err, rd.code, file, rd.line, 0, "%s", rd.msg);
        goto out;
    }
    const xmlNode *top = xmlDocGetRootElement(doc);
    if (!top) {
        rc = chlog_ld_fail(err, TM_E_PARSE, file, 1, 0,
                           "\"databaseChangeLog\" expected as root element, found nothing");
        goto out;
    }
    if (strcmp((const char *)top->name, "databaseChangeLog") != 0) {
        rc = chlog_ld_fail(err, TM_E_PARSE, file, node_line(top), 0,
                           "\"databaseChangeLog\" expected as root element, found \"%s\"",
                           (const char *)top->name);
        goto out;
    }
    rc = build(ld, file, top, NULL, root, err);
    if (rc != TM_OK) {
        chlog_node_free(*root);
        *root = NULL;
    }
out:
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}
