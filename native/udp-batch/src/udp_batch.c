/*
 * Batched UDP I/O for Node (Node-API + libuv, Linux): one non-blocking UDP socket watched by a uv_poll_t on
 * the calling thread's own event loop. On readable: recvmmsg up to `batchSize` datagrams into the slots of a
 * receive Buffer that JS holds, one JS call per batch with the lengths in an Int32Array, then one sendmmsg of
 * the replies JS wrote into the matching slots of a send Buffer, each to its datagram's source address.
 *
 * I/O only: no DNS here. Every length that crosses the boundary is checked against the slot size.
 */
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_BATCH 64
#define DEFAULT_SLOT 4096
#define MIN_SLOT 512
#define MAX_SLOT 65536
#define DEFAULT_BATCHES_PER_EVENT 8
#define MAX_BATCHES_PER_EVENT 1024
#define REREAD_MIN 4 /* datagrams in a batch from which the same readable event reads again */
#define DEFAULT_EVENT_BUDGET_US 2000
#define MAX_EVENT_BUDGET_US 1000000

typedef struct {
  int fd;
  uv_poll_t poll;
  int poll_started;   /* uv_poll_init ran: the handle must go through uv_close */
  int handle_closed;  /* the uv close callback ran, or there was no handle to close */
  int finalized;      /* the JS object is gone */
  int closing;        /* close() or env teardown: no more reads, sends or JS calls */
  int reading;        /* inside read_batches: serve() called from a batch callback reads nothing */
  napi_env env;
  napi_ref self_ref;  /* strong while open: an open socket is never collected */
  napi_ref cb_ref;
  napi_async_context async_ctx;
  napi_async_cleanup_hook_handle cleanup;
  uint8_t *recv;
  uint8_t *send;
  int32_t *lengths;
  int32_t *reply_lengths;
  uint32_t batch;
  uint32_t slot;
  uint32_t batches_per_event;
  uint64_t event_budget_ns; /* 0: no time bound, only batches_per_event */
  struct sockaddr_storage local;
  struct mmsghdr in[MAX_BATCH];
  struct iovec in_iov[MAX_BATCH];
  struct sockaddr_storage peers[MAX_BATCH];
  struct mmsghdr out[MAX_BATCH];
  struct iovec out_iov[MAX_BATCH];
  uint64_t received, sent, batches, send_errors, drops;
} udp_batch_t;

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), "ERR_UDP_BATCH_NAPI", "Node-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static void throw_errno(napi_env env, int err, const char *syscall, const char *address, uint32_t port) {
  char message[256];
  const char *code = uv_err_name(uv_translate_sys_error(err));
  snprintf(message, sizeof message, "%s %s %s:%u", syscall, code, address, port);
  napi_throw_error(env, code, message);
}

static void free_if_done(udp_batch_t *s) {
  if (s->finalized && s->handle_closed) free(s);
}

static void on_handle_closed(uv_handle_t *handle) {
  udp_batch_t *s = handle->data;
  s->handle_closed = 1;
  if (s->cleanup != NULL) {
    napi_async_cleanup_hook_handle h = s->cleanup;
    s->cleanup = NULL;
    napi_remove_async_cleanup_hook(h);
  }
  free_if_done(s);
}

/* Stop reading and release the socket at once (so the port is free when close() returns); the poll handle
 * finishes closing on the next loop turn. `with_napi` is 0 during env teardown, where Node releases refs. */
static void stop(udp_batch_t *s, int with_napi) {
  if (s->closing) return;
  s->closing = 1;
  if (s->poll_started) {
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
  } else {
    s->handle_closed = 1;
  }
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
  if (with_napi) {
    if (s->cb_ref) napi_delete_reference(s->env, s->cb_ref);
    if (s->self_ref) napi_delete_reference(s->env, s->self_ref);
    if (s->async_ctx) napi_async_destroy(s->env, s->async_ctx);
    s->cb_ref = NULL;
    s->self_ref = NULL;
    s->async_ctx = NULL;
    if (!s->poll_started && s->cleanup != NULL) {
      napi_remove_async_cleanup_hook(s->cleanup);
      s->cleanup = NULL;
    }
  }
}

/* The env is going away (process exit, worker thread end): close the socket; Node waits for the handle. */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  udp_batch_t *s = arg;
  s->cleanup = handle;
  if (s->closing) {
    if (s->handle_closed) {
      s->cleanup = NULL;
      napi_remove_async_cleanup_hook(handle);
    }
    return; /* on_handle_closed removes the hook */
  }
  stop(s, 0);
  if (s->handle_closed && s->cleanup != NULL) {
    s->cleanup = NULL;
    napi_remove_async_cleanup_hook(handle);
  }
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  udp_batch_t *s = data;
  s->finalized = 1;
  free_if_done(s);
}

static uint16_t peer_port(const struct sockaddr_storage *a) {
  if (a->ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)a)->sin_port);
  if (a->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
  return 0;
}

/* Send the replies of one batch: sendmmsg until all are out; a datagram the kernel refuses is counted
 * and skipped (UDP: the client retries), so one bad peer never blocks the others. */
static void send_replies(udp_batch_t *s, uint32_t received) {
  uint32_t count = 0;
  for (uint32_t i = 0; i < received; i++) {
    int32_t len = s->reply_lengths[i];
    if (len < 0) continue;
    if ((uint32_t)len > s->slot) { /* JS wrote a length past its slot: never read beyond it */
      s->send_errors++;
      continue;
    }
    struct msghdr *h = &s->out[count].msg_hdr;
    s->out_iov[count].iov_base = s->send + (size_t)i * s->slot;
    s->out_iov[count].iov_len = (size_t)len;
    h->msg_name = &s->peers[i];
    h->msg_namelen = s->in[i].msg_hdr.msg_namelen;
    h->msg_iov = &s->out_iov[count];
    h->msg_iovlen = 1;
    h->msg_control = NULL;
    h->msg_controllen = 0;
    h->msg_flags = 0;
    count++;
  }
  uint32_t done = 0;
  while (done < count) {
    int r = sendmmsg(s->fd, s->out + done, count - done, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      s->send_errors++;
      done++;
    } else if (r == 0) {
      s->send_errors += count - done;
      break;
    } else {
      s->sent += (uint64_t)r;
      done += (uint32_t)r;
    }
  }
}

/* Hand one batch to JS. Returns 0 when reading must stop (JS threw, or closed the socket). */
static int call_js(udp_batch_t *s, napi_value self, uint32_t count, uint32_t dropped) {
  napi_env env = s->env;
  napi_value cb, argv[2], result;
  if (napi_get_reference_value(env, s->cb_ref, &cb) != napi_ok || cb == NULL) return 0;
  napi_create_uint32(env, count, &argv[0]);
  napi_create_uint32(env, dropped, &argv[1]);
  if (napi_call_function(env, self, cb, 2, argv, &result) != napi_ok) {
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    return 0;
  }
  return !s->closing;
}

/* Read and answer batches until the socket is drained, `max_batches` were read, or `budget_ns` (0: none) has
 * passed; returns the datagrams read. Shared by the readable event and serve(). */
static uint32_t read_batches(udp_batch_t *s, napi_value self, uint32_t max_batches, uint64_t budget_ns) {
  uint32_t total = 0;
  uint64_t started = uv_hrtime();
  s->reading = 1;
  for (uint32_t b = 0; b < max_batches && !s->closing; b++) {
    for (uint32_t i = 0; i < s->batch; i++) {
      s->in[i].msg_hdr.msg_namelen = sizeof s->peers[i];
      s->in[i].msg_hdr.msg_flags = 0;
      s->in[i].msg_len = 0;
    }
    int n = recvmmsg(s->fd, s->in, s->batch, MSG_DONTWAIT, NULL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    uint32_t count = (uint32_t)n, dropped = 0;
    s->received += count;
    s->batches++;
    total += count;
    for (uint32_t i = 0; i < count; i++) {
      s->reply_lengths[i] = -1;
      unsigned int len = s->in[i].msg_len;
      /* Oversize (cut by the kernel) or from source port 0 (a reply could not be routed): dropped. */
      if ((s->in[i].msg_hdr.msg_flags & MSG_TRUNC) || len > s->slot || peer_port(&s->peers[i]) == 0) {
        s->lengths[i] = -1;
        dropped++;
      } else {
        s->lengths[i] = (int32_t)len;
      }
    }
    s->drops += dropped;
    if (!call_js(s, self, count, dropped)) break;
    send_replies(s, count);
    if (budget_ns != 0 && uv_hrtime() - started >= budget_ns) break;
    /* A short batch: arrivals are sparse, another read would most likely find nothing (a wasted system call);
     * wait for the next readable event. A full batch, or one of REREAD_MIN or more: packets kept arriving while
     * this one was answered, so read again now rather than through another event-loop turn and epoll_wait. */
    if (count < s->batch && count < REREAD_MIN) break;
  }
  s->reading = 0;
  return total;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  udp_batch_t *s = handle->data;
  if (s->closing || status < 0) return;
  napi_env env = s->env;
  napi_handle_scope hscope;
  if (napi_open_handle_scope(env, &hscope) != napi_ok) return;
  napi_value self;
  napi_callback_scope cscope = NULL;
  if (napi_get_reference_value(env, s->self_ref, &self) != napi_ok || self == NULL) goto out;
  /* One callback scope per readable event: microtasks and nextTicks run once after all its batches. */
  if (napi_open_callback_scope(env, self, s->async_ctx, &cscope) != napi_ok) cscope = NULL;
  /* A bounded number of batches and a bounded time, then back to the loop: timers and the control API keep
   * their turn. The count alone is no bound on time: a batch of cache misses (after a burst of writes dropped
   * the answers it asks for) takes many times a batch of hits. */
  read_batches(s, self, s->batches_per_event, s->event_budget_ns);
out:
  if (cscope != NULL) napi_close_callback_scope(env, cscope);
  napi_close_handle_scope(env, hscope);
}

/* serve(budgetUs): answer what is waiting now, without waiting for the readable event, within `budgetUs`
 * (0: the event's own bounds). For work on the same loop that would otherwise hold queries for its whole
 * turn: it calls this between its steps. Returns the datagrams read; 0 when closed or called from inside
 * a batch callback (never re-entered). */
static napi_value js_serve(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self, out;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok || napi_unwrap(env, self, &data) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "not a UdpBatchSocket");
    return NULL;
  }
  udp_batch_t *s = data;
  uint32_t budget_us = 0;
  napi_valuetype type = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &type);
  if (type != napi_undefined) {
    /* Read as a double: napi_get_value_uint32 would wrap -1 into a long budget and truncate 1.5. */
    double value = -1;
    if (type != napi_number || napi_get_value_double(env, argv[0], &value) != napi_ok || !(value >= 0) ||
        value > MAX_EVENT_BUDGET_US || value != (double)(uint32_t)value) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "budgetUs must be an integer in 0..1000000");
      return NULL;
    }
    budget_us = (uint32_t)value;
  }
  uint32_t read = 0;
  if (!s->closing && !s->reading) read = read_batches(s, self, s->batches_per_event, budget_us == 0 ? s->event_budget_ns : (uint64_t)budget_us * 1000);
  napi_create_uint32(env, read, &out);
  return out;
}

static int get_uint_option(napi_env env, napi_value options, const char *key, uint32_t fallback, uint32_t min, uint32_t max, uint32_t *out) {
  bool has = false;
  napi_value v;
  napi_valuetype t;
  *out = fallback;
  if (napi_has_named_property(env, options, key, &has) != napi_ok) return 0;
  if (!has) return 1;
  if (napi_get_named_property(env, options, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_undefined) return 1;
  double d;
  if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok || d != (double)(uint32_t)d || d < min || d > max) {
    char message[128];
    snprintf(message, sizeof message, "%s must be a whole number in %u..%u", key, min, max);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return 0;
  }
  *out = (uint32_t)d;
  return 1;
}

static int get_bool_option(napi_env env, napi_value options, const char *key, bool *out) {
  bool has = false;
  napi_value v;
  *out = false;
  if (napi_has_named_property(env, options, key, &has) != napi_ok) return 0;
  if (!has) return 1;
  if (napi_get_named_property(env, options, key, &v) != napi_ok) return 0;
  return napi_coerce_to_bool(env, v, &v) == napi_ok && napi_get_value_bool(env, v, out) == napi_ok;
}

/* Open and bind; returns the fd or -1 (with a JS exception pending). */
static int open_socket(napi_env env, const char *address, uint32_t port, bool reuse_port, bool ipv6_only, struct sockaddr_storage *local) {
  struct sockaddr_storage addr;
  socklen_t addr_len;
  memset(&addr, 0, sizeof addr);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
  if (inet_pton(AF_INET, address, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    addr_len = sizeof *a4;
  } else if (inet_pton(AF_INET6, address, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    addr_len = sizeof *a6;
  } else {
    napi_throw_type_error(env, "ERR_INVALID_IP_ADDRESS", "address must be an IPv4 or IPv6 literal");
    return -1;
  }
  int fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, errno, "socket", address, port);
    return -1;
  }
  int one = 1, v6only = ipv6_only ? 1 : 0;
  if ((reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
      (addr.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0)) {
    throw_errno(env, errno, "setsockopt", address, port);
    close(fd);
    return -1;
  }
  if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0) {
    throw_errno(env, errno, "bind", address, port);
    close(fd);
    return -1;
  }
  socklen_t local_len = sizeof *local;
  if (getsockname(fd, (struct sockaddr *)local, &local_len) != 0) {
    throw_errno(env, errno, "getsockname", address, port);
    close(fd);
    return -1;
  }
  return fd;
}

static napi_value set_int32_array(napi_env env, napi_value self, const char *name, uint32_t length, int32_t **data) {
  napi_value ab, arr;
  void *p;
  CHECK(env, napi_create_arraybuffer(env, (size_t)length * sizeof(int32_t), &p, &ab));
  CHECK(env, napi_create_typedarray(env, napi_int32_array, length, ab, 0, &arr));
  CHECK(env, napi_set_named_property(env, self, name, arr));
  *data = p;
  memset(p, 0xff, (size_t)length * sizeof(int32_t)); /* every slot starts at -1: nothing */
  return arr;
}

static napi_value set_buffer(napi_env env, napi_value self, const char *name, size_t length, uint8_t **data) {
  napi_value buf;
  void *p;
  CHECK(env, napi_create_buffer(env, length, &p, &buf));
  CHECK(env, napi_set_named_property(env, self, name, buf));
  *data = p;
  return buf;
}

/* new UdpBatchSocket({ address, port, reusePort?, ipv6Only?, batchSize?, slotSize?, batchesPerEvent?, eventBudgetUs? }, onBatch) */
static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  napi_valuetype t0 = napi_undefined, t1 = napi_undefined;
  if (argc == 2) {
    napi_typeof(env, argv[0], &t0);
    napi_typeof(env, argv[1], &t1);
  }
  if (t0 != napi_object || t1 != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected (options, onBatch)");
    return NULL;
  }
  napi_value v;
  char address[INET6_ADDRSTRLEN + 1];
  size_t address_len = 0;
  CHECK(env, napi_get_named_property(env, argv[0], "address", &v));
  if (napi_get_value_string_utf8(env, v, address, sizeof address, &address_len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "address must be a string");
    return NULL;
  }
  uint32_t port, batch, slot, per_event, budget_us;
  bool reuse_port, ipv6_only;
  if (!get_uint_option(env, argv[0], "port", 0, 0, 65535, &port) ||
      !get_uint_option(env, argv[0], "batchSize", MAX_BATCH, 1, MAX_BATCH, &batch) ||
      !get_uint_option(env, argv[0], "slotSize", DEFAULT_SLOT, MIN_SLOT, MAX_SLOT, &slot) ||
      !get_uint_option(env, argv[0], "batchesPerEvent", DEFAULT_BATCHES_PER_EVENT, 1, MAX_BATCHES_PER_EVENT, &per_event) ||
      !get_uint_option(env, argv[0], "eventBudgetUs", DEFAULT_EVENT_BUDGET_US, 0, MAX_EVENT_BUDGET_US, &budget_us) ||
      !get_bool_option(env, argv[0], "reusePort", &reuse_port) || !get_bool_option(env, argv[0], "ipv6Only", &ipv6_only)) {
    return NULL;
  }

  udp_batch_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  s->env = env;
  s->batch = batch;
  s->slot = slot;
  s->batches_per_event = per_event;
  s->event_budget_ns = (uint64_t)budget_us * 1000;
  s->handle_closed = 1;
  s->fd = open_socket(env, address, port, reuse_port, ipv6_only, &s->local);
  if (s->fd < 0) {
    free(s);
    return NULL;
  }
  if (set_buffer(env, self, "recv", (size_t)batch * slot, &s->recv) == NULL ||
      set_buffer(env, self, "send", (size_t)batch * slot, &s->send) == NULL ||
      set_int32_array(env, self, "lengths", batch, &s->lengths) == NULL ||
      set_int32_array(env, self, "replyLengths", batch, &s->reply_lengths) == NULL) {
    close(s->fd);
    free(s);
    return NULL;
  }
  for (uint32_t i = 0; i < batch; i++) {
    s->in_iov[i].iov_base = s->recv + (size_t)i * slot;
    s->in_iov[i].iov_len = slot;
    s->in[i].msg_hdr.msg_name = &s->peers[i];
    s->in[i].msg_hdr.msg_iov = &s->in_iov[i];
    s->in[i].msg_hdr.msg_iovlen = 1;
  }
  napi_value num, name;
  napi_create_uint32(env, batch, &num);
  napi_set_named_property(env, self, "batchSize", num);
  napi_create_uint32(env, slot, &num);
  napi_set_named_property(env, self, "slotSize", num);

  if (napi_wrap(env, self, s, finalize, NULL, NULL) != napi_ok) {
    close(s->fd);
    free(s);
    napi_throw_error(env, "ERR_UDP_BATCH_NAPI", "napi_wrap failed");
    return NULL;
  }
  /* From here on the finalizer owns `s`: failures close the socket through stop(). */
  uv_loop_t *loop = NULL;
  napi_create_string_utf8(env, "UdpBatchSocket", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[1], 1, &s->cb_ref) != napi_ok || napi_create_reference(env, self, 1, &s->self_ref) != napi_ok ||
      napi_async_init(env, self, name, &s->async_ctx) != napi_ok || napi_get_uv_event_loop(env, &loop) != napi_ok ||
      uv_poll_init(loop, &s->poll, s->fd) != 0) {
    stop(s, 1);
    napi_throw_error(env, "ERR_UDP_BATCH_INIT", "could not watch the socket on the event loop");
    return NULL;
  }
  s->poll.data = s;
  s->poll_started = 1;
  s->handle_closed = 0;
  if (uv_poll_start(&s->poll, UV_READABLE, on_readable) != 0 || napi_add_async_cleanup_hook(env, on_env_cleanup, s, &s->cleanup) != napi_ok) {
    stop(s, 1);
    napi_throw_error(env, "ERR_UDP_BATCH_INIT", "could not watch the socket on the event loop");
    return NULL;
  }
  return self;
}

static udp_batch_t *unwrap(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok || napi_unwrap(env, self, &data) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "not a UdpBatchSocket");
    return NULL;
  }
  return data;
}

/* close(): stop reading, close the socket now; idempotent. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  udp_batch_t *s = unwrap(env, info);
  if (s != NULL) stop(s, 1);
  return NULL;
}

/* address(): { address, family, port } as bound (port 0 resolved). */
static napi_value js_address(napi_env env, napi_callback_info info) {
  udp_batch_t *s = unwrap(env, info);
  if (s == NULL) return NULL;
  char text[INET6_ADDRSTRLEN];
  uint16_t port;
  const char *family;
  if (s->local.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s->local;
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
    family = "IPv6";
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&s->local;
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
    family = "IPv4";
  }
  napi_value out, v;
  CHECK(env, napi_create_object(env, &out));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "address", v);
  napi_create_string_utf8(env, family, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "family", v);
  napi_create_uint32(env, port, &v);
  napi_set_named_property(env, out, "port", v);
  return out;
}

/* stats(): { received, sent, batches, sendErrors, drops } since open. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  udp_batch_t *s = unwrap(env, info);
  if (s == NULL) return NULL;
  napi_value out, v;
  CHECK(env, napi_create_object(env, &out));
  const struct { const char *name; uint64_t value; } fields[] = {
    {"received", s->received}, {"sent", s->sent}, {"batches", s->batches}, {"sendErrors", s->send_errors}, {"drops", s->drops},
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    napi_create_double(env, (double)fields[i].value, &v);
    napi_set_named_property(env, out, fields[i].name, v);
  }
  return out;
}

/* Turns of this thread's event loop: a prepare handle counts every iteration just before it polls, so code
 * on the loop can tell one turn from the next (loopTurns()). An immediate cannot: it runs in the middle of
 * the check phase, and whatever runs after it would seem to be in a new turn. One counter per env (thread),
 * made at the first call, unreferenced (it never keeps the loop alive), closed when the env goes away. */
typedef struct {
  uv_prepare_t prepare;
  uint32_t turns;
  napi_async_cleanup_hook_handle cleanup;
} turn_counter_t;

static void on_prepare(uv_prepare_t *handle) {
  ((turn_counter_t *)handle->data)->turns++;
}

static void on_counter_closed(uv_handle_t *handle) {
  turn_counter_t *t = handle->data;
  napi_async_cleanup_hook_handle h = t->cleanup;
  free(t);
  if (h != NULL) napi_remove_async_cleanup_hook(h);
}

static void on_counter_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  turn_counter_t *t = arg;
  t->cleanup = handle;
  uv_prepare_stop(&t->prepare);
  uv_close((uv_handle_t *)&t->prepare, on_counter_closed);
}

/* loopTurns(): iterations of this thread's event loop since the first call (wraps at 2^32). */
static napi_value js_loop_turns(napi_env env, napi_callback_info info) {
  (void)info;
  turn_counter_t *t = NULL;
  if (napi_get_instance_data(env, (void **)&t) != napi_ok) t = NULL;
  if (t == NULL) {
    uv_loop_t *loop = NULL;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) {
      napi_throw_error(env, "ERR_NO_LOOP", "no event loop for this thread");
      return NULL;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL) {
      napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
      return NULL;
    }
    uv_prepare_init(loop, &t->prepare);
    t->prepare.data = t;
    uv_prepare_start(&t->prepare, on_prepare);
    uv_unref((uv_handle_t *)&t->prepare);
    napi_async_cleanup_hook_handle hook = NULL;
    if (napi_add_async_cleanup_hook(env, on_counter_cleanup, t, &hook) != napi_ok || napi_set_instance_data(env, t, NULL, NULL) != napi_ok) {
      if (hook != NULL) napi_remove_async_cleanup_hook(hook);
      uv_prepare_stop(&t->prepare);
      t->cleanup = NULL;
      uv_close((uv_handle_t *)&t->prepare, on_counter_closed);
      napi_throw_error(env, "ERR_TURN_COUNTER", "could not set up the loop turn counter");
      return NULL;
    }
    /* The hook's handle is given again to on_counter_cleanup when it runs. */
    t->cleanup = NULL;
  }
  napi_value out;
  napi_create_uint32(env, t->turns, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
    {"address", NULL, js_address, NULL, NULL, NULL, napi_default, NULL},
    {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
    {"serve", NULL, js_serve, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls, v;
  CHECK(env, napi_define_class(env, "UdpBatchSocket", NAPI_AUTO_LENGTH, construct, NULL, sizeof methods / sizeof methods[0], methods, &cls));
  CHECK(env, napi_set_named_property(env, exports, "UdpBatchSocket", cls));
  napi_value turns;
  CHECK(env, napi_create_function(env, "loopTurns", NAPI_AUTO_LENGTH, js_loop_turns, NULL, &turns));
  CHECK(env, napi_set_named_property(env, exports, "loopTurns", turns));
  napi_create_uint32(env, MAX_BATCH, &v);
  napi_set_named_property(env, exports, "MAX_BATCH", v);
  return exports;
}

NAPI_MODULE_INIT() {
  return init(env, exports);
}
