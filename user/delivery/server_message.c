#include "server_message.h"

#include "numparse.h"
#include "srvmon_proto.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * cJSON keeps numbers as doubles, exact only up to 2^53; seq is a 64-bit integer.
 * So the digits are taken from the text: cJSON_PrintUnformatted of the number
 * would round, hence we locate the member in the raw frame.
 */
static int raw_u64_member(const char *buf, size_t len, const char *name, uint64_t *ret)
{
	size_t nlen = strlen(name);
	char digits[24];

	for (size_t i = 0; i + nlen + 2 < len; i++) {
		size_t j;
		size_t k = 0;

		if (buf[i] != '"' || memcmp(buf + i + 1, name, nlen) != 0 ||
		    buf[i + 1 + nlen] != '"')
			continue;
		j = i + nlen + 2;
		while (j < len &&
		       (buf[j] == ' ' || buf[j] == '\t' || buf[j] == '\n' || buf[j] == '\r'))
			j++;
		if (j >= len || buf[j] != ':')
			continue;
		j++;
		while (j < len &&
		       (buf[j] == ' ' || buf[j] == '\t' || buf[j] == '\n' || buf[j] == '\r'))
			j++;
		while (j < len && buf[j] >= '0' && buf[j] <= '9' && k < sizeof(digits) - 1)
			digits[k++] = buf[j++];
		digits[k] = '\0';
		if (j < len && ((buf[j] >= '0' && buf[j] <= '9') || buf[j] == '.' ||
				buf[j] == 'e' || buf[j] == 'E'))
			return -EBADMSG;
		return parse_u64(digits, 0, UINT64_MAX, ret) < 0 ? -EBADMSG : 0;
	}
	return -EBADMSG;
}

int server_message_parse(const char *buf, size_t len, struct server_message *ret)
{
	const cJSON *type, *seq, *err;
	cJSON *root;
	int r = -EBADMSG;

	memset(ret, 0, sizeof(*ret));
	root = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(root))
		goto out;
	type = cJSON_GetObjectItemCaseSensitive(root, "type");
	if (!cJSON_IsString(type))
		goto out;
	if (strcmp(type->valuestring, SRVMON_MSG_ACK) == 0) {
		seq = cJSON_GetObjectItemCaseSensitive(root, "seq");
		if (!cJSON_IsNumber(seq) || seq->valuedouble < 0)
			goto out;
		if (raw_u64_member(buf, len, "seq", &ret->ack_seq) < 0)
			goto out;
		/* The digits found must be the member cJSON parsed (not a nested one). */
		if ((double)ret->ack_seq != seq->valuedouble)
			goto out;
		ret->type = SERVER_MESSAGE_ACK;
	} else if (strcmp(type->valuestring, SRVMON_MSG_ERROR) == 0) {
		err = cJSON_GetObjectItemCaseSensitive(root, "error");
		ret->type = SERVER_MESSAGE_ERROR;
		if (cJSON_IsString(err))
			(void)snprintf(ret->detail, sizeof(ret->detail), "%s", err->valuestring);
	} else if (strcmp(type->valuestring, SRVMON_MSG_WELCOME) == 0) {
		const cJSON *batch = cJSON_GetObjectItemCaseSensitive(root, "batch");
		const cJSON *mf = cJSON_GetObjectItemCaseSensitive(root, "max_frame");

		ret->type = SERVER_MESSAGE_WELCOME;
		ret->batch = cJSON_IsTrue(batch);
		/* Frame sizes are far below 2^53: the double is exact. */
		if (cJSON_IsNumber(mf) && mf->valuedouble >= 1 && mf->valuedouble <= 1e15)
			ret->max_frame = (uint64_t)mf->valuedouble;
	} else {
		ret->type = SERVER_MESSAGE_OTHER;
		(void)snprintf(ret->detail, sizeof(ret->detail), "%s", type->valuestring);
	}
	r = 0;
out:
	cJSON_Delete(root);
	return r;
}
