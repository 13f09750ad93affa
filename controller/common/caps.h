/* Size caps for every bounded buffer, in one place (STYLE.md rule 6).
 * A buffer that would pass its cap fails with TM_E_TOOBIG instead of growing. */
#ifndef TM_COMMON_CAPS_H
#define TM_COMMON_CAPS_H

#define TM_CAP_CHANGELOG_FILE   (16u << 20) /* one changelog or SQL file */
#define TM_CAP_CHANGELOG_TOTAL  (64u << 20) /* all files of one changelog */
#define TM_CAP_HTTP_BODY        (64u << 20) /* one API response body */
#define TM_CAP_WATCH_LINE       (16u << 20) /* one watch event line */
#define TM_CAP_LOG_LINE         (16u << 10) /* one log line */
#define TM_CAP_SMALL            (64u << 10) /* names, messages, small documents */

#endif
