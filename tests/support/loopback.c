/* Loopback sockets for host tests (see loopback.h). */
#include "loopback.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct sockaddr_in loopback_addr(uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
}

int loopback_bind(int type, int backlog, uint16_t *port)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_in a = loopback_addr(0);
    socklen_t len = sizeof a;
    if (bind(fd, (const struct sockaddr *)&a, sizeof a) != 0 ||
        (backlog != LOOPBACK_NO_LISTEN && listen(fd, backlog) != 0) ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        (void)close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

uint16_t loopback_free_port(void)
{
    uint16_t port = 0;
    int fd = loopback_bind(SOCK_STREAM, LOOPBACK_NO_LISTEN, &port);
    if (fd < 0 || close(fd) != 0) {
        return 0;
    }
    return port;
}
