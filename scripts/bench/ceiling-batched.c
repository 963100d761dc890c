/*
 * The C batched ceiling: a bare recvmmsg/sendmmsg loop answering every datagram with a fixed reply (the
 * query's first 4 header bytes with QR set, every count zero, padded with zeros to --size bytes), like the
 * Node ceiling but without Node: what batched UDP I/O costs on its own. Built by bench.mjs with cc.
 * Usage: ceiling-batched PORT [SIZE]; prints {"event":"ready","port":N} once bound to 127.0.0.1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 64
#define SLOT 4096

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int size = argc > 2 ? atoi(argv[2]) : 12;
  if (size < 12) size = 12;
  if (size > SLOT) size = SLOT;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    perror("bind");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, (struct sockaddr *)&addr, &len);
  printf("{\"event\":\"ready\",\"port\":%d}\n", ntohs(addr.sin_port));
  fflush(stdout);

  static unsigned char in[BATCH][SLOT], out[BATCH][SLOT];
  static struct sockaddr_in peers[BATCH];
  struct mmsghdr rmsg[BATCH], smsg[BATCH];
  struct iovec riov[BATCH], siov[BATCH];
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      riov[i] = (struct iovec){in[i], SLOT};
      rmsg[i].msg_hdr = (struct msghdr){.msg_name = &peers[i], .msg_namelen = sizeof peers[i], .msg_iov = &riov[i], .msg_iovlen = 1};
    }
    int n = recvmmsg(fd, rmsg, BATCH, MSG_WAITFORONE, NULL);
    if (n <= 0) continue;
    int m = 0;
    for (int i = 0; i < n; i++) {
      if (rmsg[i].msg_len < 12 || peers[i].sin_port == 0) continue;
      memcpy(out[m], in[i], 4);
      out[m][2] |= 0x80; /* QR: a response (RFC 1035 section 4.1.1); counts stay zero */
      siov[m] = (struct iovec){out[m], (size_t)size};
      smsg[m].msg_hdr = (struct msghdr){.msg_name = &peers[i], .msg_namelen = rmsg[i].msg_hdr.msg_namelen, .msg_iov = &siov[m], .msg_iovlen = 1};
      m++;
    }
    for (int done = 0; done < m;) {
      int r = sendmmsg(fd, smsg + done, m - done, 0);
      done += r > 0 ? r : 1; /* a refused datagram is skipped, as a UDP server does */
    }
  }
}
