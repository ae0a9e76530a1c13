/* The child side of the Windows tests: one program, a behaviour per first argument, so that
 * the tests do not depend on what cmd.exe does.
 *
 *   cat                copy stdin to stdout, byte for byte, then exit 0
 *   exit N             exit with code N
 *   eof LOG [PIDS]     write its pid to PIDS, read stdin to its end, write "eof" to LOG, exit 0
 *                      (a cooperative child)
 *   stubborn PIDS      ignore stdin and console events, start a grandchild (`sleep`), write
 *                      "CHILD GRANDCHILD" pids to PIDS, then sleep
 *   events LOG PIDS    write its pid to PIDS, log each console event it gets to LOG, exit 3 on
 *                      the first; ignores stdin
 *   flood              write lines to stdout until a write fails; ignores stdin
 *   stderr TEXT N      write TEXT to stderr, exit with code N
 *   sleep              sleep
 *   parent GO CMD...   start CMD... (its standard handles inherited), wait until the file GO
 *                      exists, then exit 0 without waiting for CMD: a parent that goes away */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *event_log;

static void write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "wb");
    if (file) {
        fputs(text, file);
        fclose(file);
    }
}

static BOOL WINAPI ignore(DWORD event)
{
    (void)event;
    return TRUE;
}

static BOOL WINAPI log_event(DWORD event)
{
    write_file(event_log, event == CTRL_C_EVENT ? "ctrl-c" : "ctrl-break");
    ExitProcess(3);
    return TRUE;
}

static void copy(void)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE), out = GetStdHandle(STD_OUTPUT_HANDLE);
    char buffer[65536];
    DWORD count, written;
    while (ReadFile(in, buffer, sizeof buffer, &count, NULL) && count > 0) {
        DWORD at = 0;
        while (at < count) {
            if (!WriteFile(out, buffer + at, count - at, &written, NULL))
                ExitProcess(2);
            at += written;
        }
    }
}

static void drain(void)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    char buffer[4096];
    DWORD count;
    while (ReadFile(in, buffer, sizeof buffer, &count, NULL) && count > 0) {
    }
}

static void pidfile(const char *path, DWORD first, DWORD second)
{
    char text[64];
    if (second)
        snprintf(text, sizeof text, "%lu %lu", (unsigned long)first, (unsigned long)second);
    else
        snprintf(text, sizeof text, "%lu", (unsigned long)first);
    char temporary[MAX_PATH];
    snprintf(temporary, sizeof temporary, "%s.tmp", path);
    write_file(temporary, text);
    MoveFileExA(temporary, path, MOVEFILE_REPLACE_EXISTING);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "cat")) {
        copy();
        return 0;
    }
    if (!strcmp(mode, "exit") && argc > 2)
        return atoi(argv[2]);
    if (!strcmp(mode, "eof") && argc > 2) {
        if (argc > 3)
            pidfile(argv[3], GetCurrentProcessId(), 0);
        drain();
        write_file(argv[2], "eof");
        return 0;
    }
    if (!strcmp(mode, "stubborn") && argc > 2) {
        SetConsoleCtrlHandler(ignore, TRUE);
        char line[MAX_PATH + 16];
        snprintf(line, sizeof line, "\"%s\" sleep", argv[0]);
        STARTUPINFOA startup = {sizeof startup};
        PROCESS_INFORMATION started;
        if (!CreateProcessA(NULL, line, NULL, NULL, FALSE, 0, NULL, NULL, &startup, &started)) {
            char error[64];
            snprintf(error, sizeof error, "CreateProcess failed: %lu", GetLastError());
            write_file(argv[2], error);
            return 4;
        }
        pidfile(argv[2], GetCurrentProcessId(), started.dwProcessId);
        for (;;)
            Sleep(1000);
    }
    if (!strcmp(mode, "events") && argc > 3) {
        event_log = argv[2];
        SetConsoleCtrlHandler(log_event, TRUE);
        pidfile(argv[3], GetCurrentProcessId(), 0);
        for (;;)
            Sleep(1000);
    }
    if (!strcmp(mode, "flood")) {
        HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
        static const char line[] = "a line of output that nobody reads any more\n";
        DWORD written;
        while (WriteFile(out, line, sizeof line - 1, &written, NULL)) {
        }
        return 0;
    }
    if (!strcmp(mode, "stderr") && argc > 3) {
        fputs(argv[2], stderr);
        fflush(stderr);
        return atoi(argv[3]);
    }
    if (!strcmp(mode, "parent") && argc > 3) {
        char line[8192] = "";
        for (int i = 3; i < argc; i++) {
            strncat(line, "\"", sizeof line - strlen(line) - 1);
            strncat(line, argv[i], sizeof line - strlen(line) - 1);
            strncat(line, "\" ", sizeof line - strlen(line) - 1);
        }
        STARTUPINFOA startup = {sizeof startup};
        PROCESS_INFORMATION started;
        if (!CreateProcessA(NULL, line, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &started))
            return 4;
        while (GetFileAttributesA(argv[2]) == INVALID_FILE_ATTRIBUTES)
            Sleep(10);
        return 0;
    }
    if (!strcmp(mode, "sleep")) {
        for (;;)
            Sleep(1000);
    }
    fprintf(stderr, "child: unknown mode '%s'\n", mode);
    return 64;
}
