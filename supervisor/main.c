/* lakesupd — entry point: dispatches sub-commands (see lk_cli.h). */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("lakesupd %s\n", LK_VERSION);
    return 0;
}
