#include "t.h"
int main(void)
{
    t_done();
    return 0;
}
