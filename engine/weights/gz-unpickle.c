/* gz-unpickle.c — a restricted unpickler for torch.save state dicts
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gz-limits.h"
#include "gz-unpickle.h"

#define MAX_STACK (1 << 20)
#define MAX_MEMO (1 << 22)
#define MAX_OBJECTS (1 << 24)
#define MAX_SEARCH_DEPTH 8

typedef enum
{
  O_NONE,
  O_BOOL,
  O_INT,
  O_FLOAT,
  O_STR,
  O_TUPLE,
  O_LIST,
  O_DICT,
  O_GLOBAL,
  O_STORAGE,
  O_TENSOR,
  O_MARK,
} Kind;

typedef enum
{
  G_ORDERED_DICT,
  G_REBUILD_TENSOR,
  G_REBUILD_PARAMETER,
  G_STORAGE,
} Global;

typedef struct Obj Obj;
struct Obj
{
  Kind k;
  int64_t i; /* int, bool; global id; storage type */
  double f;
  const char *s; /* str: points into the pickle (not NUL-terminated) */
  size_t slen;
  int n, cap; /* tuple/list items; dict: keys and values alternating */
  Obj **items;
  GzStorageBytes bytes; /* storage */
  int64_t numel;
  Obj *storage; /* tensor */
  int64_t offset;
  int ndim;
  int64_t dims[GZ_MAX_DIMS], strides[GZ_MAX_DIMS];
  Obj *next_alloc;
};

typedef struct
{
  const unsigned char *p, *end;
  const GzLimits *limits;
  GzStorageFn storage;
  const GzPickleScan *scan; /* scan mode: storages are only reported */
  void *user;
  GzError *err;
  Obj *all; /* every object, for freeing */
  int64_t n_objects;
  Obj **stack;
  int sp, stack_cap;
  Obj **memo;
  int64_t memo_cap;
  Obj none, mark;
} Un;

static Obj *
obj_new (Un *u, Kind k)
{
  if (u->n_objects >= MAX_OBJECTS)
    return NULL;
  Obj *o = calloc (1, sizeof *o);
  if (o == NULL)
    return NULL;
  o->k = k;
  o->next_alloc = u->all;
  u->all = o;
  u->n_objects++;
  return o;
}

static GzStatus
fail (Un *u, GzStatus code, const char *msg)
{
  return gz_error_set (u->err, code, "cannot read the pickle: %s", msg);
}

static GzStatus
push (Un *u, Obj *o)
{
  if (o == NULL)
    return fail (u, GZ_ERR_NOMEM, "out of memory or too many objects");
  if (u->sp >= u->stack_cap)
    {
      if (u->stack_cap >= MAX_STACK)
        return fail (u, GZ_ERR_LIMIT, "the stack is too deep");
      int cap = u->stack_cap ? u->stack_cap * 2 : 256;
      Obj **s = realloc (u->stack, (size_t) cap * sizeof *s);
      if (s == NULL)
        return fail (u, GZ_ERR_NOMEM, "out of memory");
      u->stack = s;
      u->stack_cap = cap;
    }
  u->stack[u->sp++] = o;
  return GZ_OK;
}

static Obj *
pop (Un *u)
{
  if (u->sp <= 0)
    return NULL;
  return u->stack[--u->sp];
}

static int
find_mark (Un *u)
{
  for (int i = u->sp - 1; i >= 0; i--)
    if (u->stack[i]->k == O_MARK)
      return i;
  return -1;
}

static GzStatus
items_add (Un *u, Obj *c, Obj *o)
{
  if (c->n >= c->cap)
    {
      if (c->cap >= MAX_OBJECTS)
        return fail (u, GZ_ERR_LIMIT, "a container is too large");
      int cap = c->cap ? c->cap * 2 : 8;
      Obj **it = realloc (c->items, (size_t) cap * sizeof *it);
      if (it == NULL)
        return fail (u, GZ_ERR_NOMEM, "out of memory");
      c->items = it;
      c->cap = cap;
    }
  c->items[c->n++] = o;
  return GZ_OK;
}

static bool
need (Un *u, size_t n)
{
  return (size_t) (u->end - u->p) >= n;
}

static uint64_t
le (const unsigned char *p, int n)
{
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static bool
str_is (const Obj *o, const char *s)
{
  return o != NULL && o->k == O_STR && o->slen == strlen (s) && memcmp (o->s, s, o->slen) == 0;
}

static const struct
{
  const char *name;
  GzStorageType type;
} storage_names[] = {
  { "FloatStorage", GZ_STORAGE_FLOAT },       { "HalfStorage", GZ_STORAGE_HALF },
  { "BFloat16Storage", GZ_STORAGE_BFLOAT16 }, { "DoubleStorage", GZ_STORAGE_DOUBLE },
  { "LongStorage", GZ_STORAGE_LONG },         { "IntStorage", GZ_STORAGE_INT },
  { "ShortStorage", GZ_STORAGE_SHORT },       { "CharStorage", GZ_STORAGE_CHAR },
  { "ByteStorage", GZ_STORAGE_BYTE },         { "BoolStorage", GZ_STORAGE_BOOL },
};

size_t
gz_storage_element_size (GzStorageType t)
{
  switch (t)
    {
      case GZ_STORAGE_DOUBLE:
      case GZ_STORAGE_LONG:
        return 8;
      case GZ_STORAGE_FLOAT:
      case GZ_STORAGE_INT:
        return 4;
      case GZ_STORAGE_HALF:
      case GZ_STORAGE_BFLOAT16:
      case GZ_STORAGE_SHORT:
        return 2;
      default:
        return 1;
    }
}

/* GLOBAL module\nname\n or STACK_GLOBAL: only the allow-list. */
static GzStatus
global (Un *u, const char *mod, size_t modl, const char *name, size_t namel)
{
#define IS(a, s) (a##l == strlen (s) && memcmp (a, s, a##l) == 0)
  Obj *o = obj_new (u, O_GLOBAL);
  if (o == NULL)
    return fail (u, GZ_ERR_NOMEM, "out of memory");
  if (IS (mod, "collections") && IS (name, "OrderedDict"))
    o->i = G_ORDERED_DICT;
  else if (IS (mod, "torch._utils") && IS (name, "_rebuild_tensor_v2"))
    o->i = G_REBUILD_TENSOR;
  else if (IS (mod, "torch._utils") && IS (name, "_rebuild_parameter"))
    o->i = G_REBUILD_PARAMETER;
  else
    {
      bool found = false;
      if (IS (mod, "torch"))
        for (size_t i = 0; i < sizeof storage_names / sizeof storage_names[0]; i++)
          if (IS (name, storage_names[i].name))
            {
              o->i = G_STORAGE;
              o->numel = storage_names[i].type;
              found = true;
            }
      if (!found)
        return gz_error_set (u->err, GZ_ERR_UNSUPPORTED,
                             "this file contains code (%.*s.%.*s); Gaze runs no code from a "
                             "weights file: export the model to ONNX or save its state_dict",
                             (int) (modl > 100 ? 100 : modl), mod,
                             (int) (namel > 100 ? 100 : namel), name);
    }
#undef IS
  return push (u, o);
}

static GzStatus
persistent_id (Un *u, Obj *pid)
{
  if (pid == NULL || pid->k != O_TUPLE || pid->n < 5 || !str_is (pid->items[0], "storage")
      || pid->items[1]->k != O_GLOBAL || pid->items[1]->i != G_STORAGE || pid->items[2]->k != O_STR
      || pid->items[4]->k != O_INT || pid->items[4]->i < 0)
    return fail (u, GZ_ERR_FORMAT, "a persistent id is not a torch storage");
  char key[64];
  const Obj *k = pid->items[2];
  if (k->slen >= sizeof key)
    return fail (u, GZ_ERR_FORMAT, "a storage key is too long");
  memcpy (key, k->s, k->slen);
  key[k->slen] = '\0';
  Obj *o = obj_new (u, O_STORAGE);
  if (o == NULL)
    return fail (u, GZ_ERR_NOMEM, "out of memory");
  o->i = pid->items[1]->numel;
  o->numel = pid->items[4]->i;
  if (u->scan != NULL)
    {
      if (u->scan->storage_seen == NULL)
        return fail (u, GZ_ERR_FORMAT, "a storage where none may be");
      GzStatus s
          = u->scan->storage_seen (u->scan->user, key, (GzStorageType) o->i, o->numel, u->err);
      return s != GZ_OK ? s : push (u, o);
    }
  GzStatus s = u->storage (u->user, key, (GzStorageType) o->i, o->numel, &o->bytes, u->err);
  if (s != GZ_OK)
    return s;
  if ((uint64_t) o->numel > o->bytes.size / gz_storage_element_size ((GzStorageType) o->i))
    return gz_error_set (u->err, GZ_ERR_FORMAT,
                         "storage '%s' holds %zu bytes, too few for its %lld elements", key,
                         o->bytes.size, (long long) o->numel);
  return push (u, o);
}

static GzStatus
ints_of (Un *u, const Obj *t, int64_t *out, int *n)
{
  if (t->k != O_TUPLE || t->n > GZ_MAX_DIMS)
    return fail (u, GZ_ERR_UNSUPPORTED, "a tensor's size or stride is not a short tuple");
  for (int i = 0; i < t->n; i++)
    {
      if (t->items[i]->k != O_INT || t->items[i]->i < 0)
        return fail (u, GZ_ERR_FORMAT, "a tensor's size or stride is not a natural number");
      out[i] = t->items[i]->i;
    }
  *n = t->n;
  return GZ_OK;
}

static GzStatus
reduce (Un *u)
{
  Obj *args = pop (u), *fn = pop (u);
  if (args == NULL || fn == NULL || args->k != O_TUPLE || fn->k != O_GLOBAL)
    return fail (u, GZ_ERR_FORMAT, "REDUCE without a callable and its arguments");
  switch (fn->i)
    {
      case G_ORDERED_DICT:
        if (args->n != 0)
          return fail (u, GZ_ERR_UNSUPPORTED, "OrderedDict with arguments");
        return push (u, obj_new (u, O_DICT));
      case G_REBUILD_PARAMETER:
        if (args->n < 1 || args->items[0]->k != O_TENSOR)
          return fail (u, GZ_ERR_FORMAT, "_rebuild_parameter without a tensor");
        return push (u, args->items[0]);
      case G_REBUILD_TENSOR:
        {
          if (args->n < 4 || args->items[0]->k != O_STORAGE || args->items[1]->k != O_INT
              || args->items[1]->i < 0)
            return fail (u, GZ_ERR_FORMAT, "_rebuild_tensor_v2 with unexpected arguments");
          Obj *t = obj_new (u, O_TENSOR);
          if (t == NULL)
            return fail (u, GZ_ERR_NOMEM, "out of memory");
          t->storage = args->items[0];
          t->offset = args->items[1]->i;
          int ns = 0;
          GzStatus s = ints_of (u, args->items[2], t->dims, &t->ndim);
          if (s == GZ_OK)
            s = ints_of (u, args->items[3], t->strides, &ns);
          if (s != GZ_OK)
            return s;
          if (ns != t->ndim)
            return fail (u, GZ_ERR_FORMAT, "a tensor's size and stride differ in length");
          /* Every element must lie inside the storage. */
          int64_t last = t->offset;
          bool empty = false;
          for (int i = 0; i < t->ndim; i++)
            {
              if (t->dims[i] == 0)
                empty = true;
              else if (t->dims[i] > INT32_MAX || t->strides[i] > INT32_MAX)
                return fail (u, GZ_ERR_LIMIT, "a tensor dimension is too large");
              else
                last += (t->dims[i] - 1) * t->strides[i];
            }
          if (!empty && last >= t->storage->numel)
            return gz_error_set (u->err, GZ_ERR_FORMAT,
                                 "a tensor reaches element %lld of a storage of %lld elements "
                                 "(a storage shorter than its tensor)",
                                 (long long) last, (long long) t->storage->numel);
          return push (u, t);
        }
      default:
        return fail (u, GZ_ERR_UNSUPPORTED, "a storage class called as a function");
    }
}

static GzStatus
memo_put (Un *u, int64_t idx)
{
  if (u->sp <= 0)
    return fail (u, GZ_ERR_FORMAT, "PUT on an empty stack");
  if (idx < 0 || idx >= MAX_MEMO)
    return fail (u, GZ_ERR_LIMIT, "a memo index is too large");
  if (idx >= u->memo_cap)
    {
      int64_t cap = u->memo_cap ? u->memo_cap : 256;
      while (cap <= idx)
        cap *= 2;
      Obj **m = realloc (u->memo, (size_t) cap * sizeof *m);
      if (m == NULL)
        return fail (u, GZ_ERR_NOMEM, "out of memory");
      memset (m + u->memo_cap, 0, (size_t) (cap - u->memo_cap) * sizeof *m);
      u->memo = m;
      u->memo_cap = cap;
    }
  u->memo[idx] = u->stack[u->sp - 1];
  return GZ_OK;
}

static GzStatus
memo_get (Un *u, int64_t idx)
{
  if (idx < 0 || idx >= u->memo_cap || u->memo[idx] == NULL)
    return fail (u, GZ_ERR_FORMAT, "GET of an unset memo entry");
  return push (u, u->memo[idx]);
}

static GzStatus
str_op (Un *u, size_t n)
{
  if (!need (u, n))
    return fail (u, GZ_ERR_FORMAT, "truncated string");
  Obj *o = obj_new (u, O_STR);
  if (o == NULL)
    return fail (u, GZ_ERR_NOMEM, "out of memory");
  o->s = (const char *) u->p;
  o->slen = n;
  u->p += n;
  return push (u, o);
}

static GzStatus
run (Un *u, Obj **result)
{
  int64_t memo_next = 0;
  GzStatus s = GZ_OK;
  while (s == GZ_OK)
    {
      if (!need (u, 1))
        return fail (u, GZ_ERR_FORMAT, "truncated (no STOP)");
      unsigned op = *u->p++;
      Obj *o, *a, *b;
      int m;
      switch (op)
        {
          case 0x80: /* PROTO */
            if (!need (u, 1))
              return fail (u, GZ_ERR_FORMAT, "truncated");
            u->p++;
            break;
          case 0x95: /* FRAME */
            if (!need (u, 8))
              return fail (u, GZ_ERR_FORMAT, "truncated");
            u->p += 8;
            break;
          case '.': /* STOP */
            *result = pop (u);
            if (*result == NULL)
              return fail (u, GZ_ERR_FORMAT, "STOP on an empty stack");
            return GZ_OK;
          case '(':
            s = push (u, &u->mark);
            break;
          case '}':
            s = push (u, obj_new (u, O_DICT));
            break;
          case ']':
            s = push (u, obj_new (u, O_LIST));
            break;
          case ')':
            s = push (u, obj_new (u, O_TUPLE));
            break;
          case 'N':
            s = push (u, &u->none);
            break;
          case 0x88:
          case 0x89:
            if ((o = obj_new (u, O_BOOL)) != NULL)
              o->i = op == 0x88;
            s = push (u, o);
            break;
          case 'J':
          case 'K':
          case 'M':
            {
              int n = op == 'J' ? 4 : op == 'K' ? 1 : 2;
              if (!need (u, (size_t) n))
                return fail (u, GZ_ERR_FORMAT, "truncated");
              if ((o = obj_new (u, O_INT)) != NULL)
                o->i = op == 'J' ? (int64_t) (int32_t) le (u->p, 4) : (int64_t) le (u->p, n);
              u->p += n;
              s = push (u, o);
              break;
            }
          case 0x8a: /* LONG1 */
            {
              if (!need (u, 1) || !need (u, 1 + (size_t) u->p[0]))
                return fail (u, GZ_ERR_FORMAT, "truncated");
              int n = u->p[0];
              if (n > 8)
                return fail (u, GZ_ERR_UNSUPPORTED, "an integer wider than 64 bits");
              uint64_t v = n ? le (u->p + 1, n) : 0;
              if (n > 0 && n < 8 && (u->p[n] & 0x80))
                v |= ~(uint64_t) 0 << (8 * n);
              if ((o = obj_new (u, O_INT)) != NULL)
                o->i = (int64_t) v;
              u->p += 1 + n;
              s = push (u, o);
              break;
            }
          case 'G': /* BINFLOAT, big-endian */
            {
              if (!need (u, 8))
                return fail (u, GZ_ERR_FORMAT, "truncated");
              uint64_t v = 0;
              for (int i = 0; i < 8; i++)
                v = v << 8 | u->p[i];
              double d;
              memcpy (&d, &v, sizeof d);
              if ((o = obj_new (u, O_FLOAT)) != NULL)
                o->f = d;
              u->p += 8;
              s = push (u, o);
              break;
            }
          case 'X': /* BINUNICODE */
          case 'T': /* BINSTRING */
          case 'B': /* BINBYTES */
            if (!need (u, 4))
              return fail (u, GZ_ERR_FORMAT, "truncated");
            {
              size_t n = (size_t) le (u->p, 4);
              u->p += 4;
              s = str_op (u, n);
            }
            break;
          case 0x8c: /* SHORT_BINUNICODE */
          case 'U': /* SHORT_BINSTRING */
          case 'C': /* SHORT_BINBYTES */
            if (!need (u, 1))
              return fail (u, GZ_ERR_FORMAT, "truncated");
            {
              size_t n = u->p[0];
              u->p++;
              s = str_op (u, n);
            }
            break;
          case 0x8d: /* BINUNICODE8 */
          case 0x8e: /* BINBYTES8 */
            if (!need (u, 8))
              return fail (u, GZ_ERR_FORMAT, "truncated");
            {
              uint64_t n = le (u->p, 8);
              u->p += 8;
              if (n > (uint64_t) (u->end - u->p))
                return fail (u, GZ_ERR_FORMAT, "truncated string");
              s = str_op (u, (size_t) n);
            }
            break;
          case 'c': /* GLOBAL module\nname\n */
            {
              const char *mod = (const char *) u->p;
              const unsigned char *nl = memchr (u->p, '\n', (size_t) (u->end - u->p));
              if (nl == NULL)
                return fail (u, GZ_ERR_FORMAT, "truncated GLOBAL");
              const char *name = (const char *) nl + 1;
              const unsigned char *nl2 = memchr (nl + 1, '\n', (size_t) (u->end - (nl + 1)));
              if (nl2 == NULL)
                return fail (u, GZ_ERR_FORMAT, "truncated GLOBAL");
              u->p = nl2 + 1;
              s = global (u, mod, (size_t) ((const char *) nl - mod), name,
                          (size_t) ((const char *) nl2 - name));
              break;
            }
          case 0x93: /* STACK_GLOBAL */
            b = pop (u);
            a = pop (u);
            if (a == NULL || b == NULL || a->k != O_STR || b->k != O_STR)
              return fail (u, GZ_ERR_FORMAT, "STACK_GLOBAL without two strings");
            s = global (u, a->s, a->slen, b->s, b->slen);
            break;
          case 'q':
            if (!need (u, 1))
              return fail (u, GZ_ERR_FORMAT, "truncated");
            s = memo_put (u, u->p[0]);
            u->p++;
            break;
          case 'r':
            if (!need (u, 4))
              return fail (u, GZ_ERR_FORMAT, "truncated");
            s = memo_put (u, (int64_t) le (u->p, 4));
            u->p += 4;
            break;
          case 0x94: /* MEMOIZE */
            s = memo_put (u, memo_next++);
            break;
          case 'h':
            if (!need (u, 1))
              return fail (u, GZ_ERR_FORMAT, "truncated");
            s = memo_get (u, u->p[0]);
            u->p++;
            break;
          case 'j':
            if (!need (u, 4))
              return fail (u, GZ_ERR_FORMAT, "truncated");
            s = memo_get (u, (int64_t) le (u->p, 4));
            u->p += 4;
            break;
          case '0': /* POP */
            if (pop (u) == NULL)
              return fail (u, GZ_ERR_FORMAT, "POP on an empty stack");
            break;
          case '1': /* POP_MARK */
            if ((m = find_mark (u)) < 0)
              return fail (u, GZ_ERR_FORMAT, "no MARK");
            u->sp = m;
            break;
          case '2': /* DUP */
            if (u->sp <= 0)
              return fail (u, GZ_ERR_FORMAT, "DUP on an empty stack");
            s = push (u, u->stack[u->sp - 1]);
            break;
          case 't':
          case 'l':
          case 'd':
          case 'e':
          case 'u':
            {
              if ((m = find_mark (u)) < 0)
                return fail (u, GZ_ERR_FORMAT, "no MARK");
              int n = u->sp - m - 1;
              Obj *c;
              if (op == 'e' || op == 'u')
                {
                  if (m == 0)
                    return fail (u, GZ_ERR_FORMAT, "APPENDS/SETITEMS without a container");
                  c = u->stack[m - 1];
                  if ((op == 'e' && c->k != O_LIST) || (op == 'u' && c->k != O_DICT))
                    return fail (u, GZ_ERR_FORMAT, "APPENDS/SETITEMS on the wrong container");
                }
              else
                c = obj_new (u, op == 't' ? O_TUPLE : op == 'l' ? O_LIST : O_DICT);
              if (c == NULL)
                return fail (u, GZ_ERR_NOMEM, "out of memory");
              if ((op == 'd' || op == 'u') && n % 2 != 0)
                return fail (u, GZ_ERR_FORMAT, "odd number of dict items");
              for (int i = 0; i < n && s == GZ_OK; i++)
                s = items_add (u, c, u->stack[m + 1 + i]);
              u->sp = m;
              if (s == GZ_OK && op != 'e' && op != 'u')
                s = push (u, c);
              break;
            }
          case 0x85:
          case 0x86:
          case 0x87:
            {
              int n = (int) op - 0x84;
              if (u->sp < n)
                return fail (u, GZ_ERR_FORMAT, "TUPLE on a short stack");
              Obj *c = obj_new (u, O_TUPLE);
              if (c == NULL)
                return fail (u, GZ_ERR_NOMEM, "out of memory");
              for (int i = 0; i < n && s == GZ_OK; i++)
                s = items_add (u, c, u->stack[u->sp - n + i]);
              u->sp -= n;
              if (s == GZ_OK)
                s = push (u, c);
              break;
            }
          case 'a': /* APPEND */
          case 's': /* SETITEM */
            {
              int n = op == 'a' ? 1 : 2;
              if (u->sp < n + 1)
                return fail (u, GZ_ERR_FORMAT, "APPEND/SETITEM on a short stack");
              Obj *c = u->stack[u->sp - n - 1];
              if (c->k != (op == 'a' ? O_LIST : O_DICT))
                return fail (u, GZ_ERR_FORMAT, "APPEND/SETITEM on the wrong container");
              for (int i = 0; i < n && s == GZ_OK; i++)
                s = items_add (u, c, u->stack[u->sp - n + i]);
              u->sp -= n;
              break;
            }
          case 'R':
            s = reduce (u);
            break;
          case 'b': /* BUILD: state of an OrderedDict (its _metadata) is ignored */
            a = pop (u);
            if (a == NULL || u->sp <= 0
                || (u->stack[u->sp - 1]->k != O_DICT && u->stack[u->sp - 1]->k != O_TENSOR))
              return fail (u, GZ_ERR_UNSUPPORTED, "BUILD of an object that is not a dict");
            break;
          case 'Q': /* BINPERSID */
            s = persistent_id (u, pop (u));
            break;
          default:
            return gz_error_set (u->err, GZ_ERR_UNSUPPORTED,
                                 "cannot read the pickle: opcode 0x%02x is not allowed in a "
                                 "weights file (it builds objects or runs code)",
                                 op);
        }
      if (s == GZ_OK && u->sp > 0 && u->stack[u->sp - 1] == NULL)
        s = fail (u, GZ_ERR_NOMEM, "out of memory");
    }
  return s;
}

static bool
is_state_dict (const Obj *d)
{
  if (d == NULL || d->k != O_DICT || d->n == 0)
    return false;
  for (int i = 0; i + 1 < d->n; i += 2)
    if (d->items[i]->k != O_STR || d->items[i + 1]->k != O_TENSOR)
      return false;
  return true;
}

static const Obj *
dict_get (const Obj *d, const char *key)
{
  for (int i = 0; i + 1 < d->n; i += 2)
    if (str_is (d->items[i], key))
      return d->items[i + 1];
  return NULL;
}

static const Obj *
find_state_dict (const Obj *o, int depth)
{
  if (o == NULL || o->k != O_DICT || depth > MAX_SEARCH_DEPTH)
    return NULL;
  if (is_state_dict (o))
    return o;
  static const char *const keys[]
      = { "state_dict", "model_state_dict", "model", "net", "network", "module", NULL };
  for (int i = 0; keys[i] != NULL; i++)
    {
      const Obj *r = find_state_dict (dict_get (o, keys[i]), depth + 1);
      if (r != NULL)
        return r;
    }
  return NULL;
}

static GzStatus
convert (const Obj *t, const GzLimits *limits, GzTensor **out, GzError *err)
{
  *out = NULL;
  GzStorageType type = (GzStorageType) t->storage->i;
  if (type != GZ_STORAGE_FLOAT && type != GZ_STORAGE_HALF && type != GZ_STORAGE_BFLOAT16
      && type != GZ_STORAGE_DOUBLE)
    return GZ_OK; /* integer buffers (num_batches_tracked) are not weights */
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    {
      n *= t->dims[i];
      if (n > limits->max_tensor_elements)
        return gz_error_set (err, GZ_ERR_LIMIT,
                             "a tensor has more elements than the " GZ_LIMIT_TENSOR_ELEMENTS
                             " limit of %lld",
                             (long long) limits->max_tensor_elements);
    }
  GzTensor *r = gz_source_tensor_new (t->ndim, t->dims, err);
  if (r == NULL)
    return GZ_ERR_NOMEM;
  float *dst = gz_tensor_f (r);
  if (n == 0)
    {
      *out = r;
      return GZ_OK;
    }
  bool contiguous = true;
  int64_t step = 1, last = t->offset;
  for (int i = t->ndim - 1; i >= 0; i--)
    {
      if (t->dims[i] != 1 && t->strides[i] != step)
        contiguous = false;
      step *= t->dims[i];
      last += (t->dims[i] - 1) * t->strides[i];
    }
  /* reduce() checked that elements offset..last lie in the storage, and
   * persistent_id() that the storage's bytes hold them all. */
  const GzStorageBytes *sb = &t->storage->bytes;
  size_t es = gz_storage_element_size (type);
  uint64_t first_byte = sb->offset + (uint64_t) t->offset * es;
  size_t span = (size_t) (last - t->offset + 1) * es;
  GzStatus s;
  if (contiguous && type == GZ_STORAGE_FLOAT)
    {
      /* The common case: the file's bytes are the tensor's. */
      s = gz_source_read (sb->src, first_byte, dst, (size_t) n * 4, err);
      if (s != GZ_OK)
        gz_tensor_free (r);
      else
        *out = r;
      return s;
    }
  const unsigned char *src;
  unsigned char *owned;
  s = gz_source_view (sb->src, first_byte, span, &src, &owned, err);
  if (s != GZ_OK)
    {
      gz_tensor_free (r);
      return s;
    }
  int64_t idx[GZ_MAX_DIMS] = { 0 };
  for (int64_t k = 0; k < n; k++)
    {
      int64_t e = 0; /* from the tensor's first element */
      for (int i = 0; i < t->ndim; i++)
        e += idx[i] * t->strides[i];
      switch (type)
        {
          case GZ_STORAGE_FLOAT:
            memcpy (&dst[k], src + 4 * e, 4);
            break;
          case GZ_STORAGE_DOUBLE:
            {
              double d;
              memcpy (&d, src + 8 * e, 8);
              dst[k] = (float) d;
              break;
            }
          case GZ_STORAGE_HALF:
            dst[k] = gz_half_to_float ((uint16_t) le (src + 2 * e, 2));
            break;
          default:
            dst[k] = gz_bfloat16_to_float ((uint16_t) le (src + 2 * e, 2));
            break;
        }
      for (int i = t->ndim - 1; i >= 0; i--)
        {
          if (++idx[i] < t->dims[i])
            break;
          idx[i] = 0;
        }
    }
  free (owned);
  *out = r;
  return GZ_OK;
}

static void
un_free (Un *u)
{
  while (u->all != NULL)
    {
      Obj *next = u->all->next_alloc;
      free (u->all->items);
      free (u->all);
      u->all = next;
    }
  free (u->stack);
  free (u->memo);
}

GzStatus
gz_unpickle_scan (const void *pkl, size_t len, const GzLimits *limits, const GzPickleScan *scan,
                  size_t *used, GzError *err)
{
  Un u = {
    .p = pkl, .end = (const unsigned char *) pkl + len, .limits = limits, .scan = scan, .err = err
  };
  u.none.k = O_NONE;
  u.mark.k = O_MARK;
  Obj *top = NULL;
  GzStatus s = run (&u, &top);
  if (s == GZ_OK)
    *used = (size_t) (u.p - (const unsigned char *) pkl);
  if (s == GZ_OK && scan->list_string != NULL)
    {
      if (top->k != O_LIST)
        s = gz_error_set (err, GZ_ERR_FORMAT, "expected a list of storage keys");
      for (int i = 0; s == GZ_OK && i < top->n; i++)
        s = top->items[i]->k != O_STR
            ? gz_error_set (err, GZ_ERR_FORMAT, "a storage key is not a string")
            : scan->list_string (scan->user, top->items[i]->s, top->items[i]->slen, err);
    }
  un_free (&u);
  return s;
}

GzStatus
gz_unpickle_state_dict (const void *pkl, size_t len, const GzLimits *limits, GzStorageFn storage,
                        void *user, GzStateDict *out, GzError *err)
{
  Un u = { .p = pkl,
           .end = (const unsigned char *) pkl + len,
           .limits = limits,
           .storage = storage,
           .user = user,
           .err = err };
  u.none.k = O_NONE;
  u.mark.k = O_MARK;
  Obj *top = NULL;
  GzStatus s = run (&u, &top);
  if (s == GZ_OK)
    {
      const Obj *sd = find_state_dict (top, 0);
      if (sd == NULL)
        s = gz_error_set (err, GZ_ERR_FORMAT,
                          "no state dict in this file: expected a dict of tensors (or a "
                          "checkpoint with a 'state_dict' or 'model' entry)");
      for (int i = 0; s == GZ_OK && sd != NULL && i + 1 < sd->n; i += 2)
        {
          GzTensor *t = NULL;
          s = convert (sd->items[i + 1], limits, &t, err);
          if (s == GZ_OK && t != NULL)
            s = gz_state_dict_add (out, sd->items[i]->s, sd->items[i]->slen, t, err);
        }
    }
  un_free (&u);
  return s;
}
