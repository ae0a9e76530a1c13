/* A stand-in for bcryptprimitives.dll, which wine 8 lacks and every Rust 1.78+ Windows program
 * imports (ProcessPrng): built by tests/windows/run for the tests under wine, never shipped.
 * ProcessPrng forwards to advapi32's RtlGenRandom (SystemFunction036). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
