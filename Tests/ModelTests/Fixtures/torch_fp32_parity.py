# How well PyTorch itself (float64 and float32) reproduces gpt2-parity.safetensors: loss, gradients, and
# parameters after one and two AdamW steps. Usage: python3 torch_fp32_parity.py (needs torch, safetensors).
# Result on 2026-11-21 (torch 2.15): float32 step1 error 2.7e-4 and float64 1.0e-4, both on
# transformer.h.1.attn.c_proj.weight, whose smallest gradient (8e-9) is below AdamW eps (1e-8).
import json, math, torch, torch.nn.functional as F
from safetensors.torch import load_file
from safetensors import safe_open
path='/work/shared/fixtures/gpt2-parity.safetensors'
T_=load_file(path)
with safe_open(path,'pt') as f: meta=f.metadata()
cfg=json.loads(meta['config']); C=cfg['n_embd']; NH=cfg['n_head']; L=cfg['n_layer']
def run(dtype):
    P={k:v.to(dtype).clone().requires_grad_(True) for k,v in T_.items() if k.startswith('transformer.')}
    opt=torch.optim.AdamW(list(P.values()) if False else [{'params':[p for k,p in P.items() if p.dim()>=2],'weight_decay':0.1},{'params':[p for k,p in P.items() if p.dim()<2],'weight_decay':0.0}],lr=1e-3,betas=(0.9,0.95),eps=1e-8)
    ids=T_['input_ids'].long(); tg=T_['targets'].long(); B,T=ids.shape
    def fwd():
        x=P['transformer.wte.weight'][ids]+P['transformer.wpe.weight'][:T]
        for l in range(L):
            h=f'transformer.h.{l}.'
            a=F.layer_norm(x,(C,),P[h+'ln_1.weight'],P[h+'ln_1.bias'],1e-5)
            qkv=a@P[h+'attn.c_attn.weight']+P[h+'attn.c_attn.bias']
            q,k,v=qkv.split(C,2)
            q=q.view(B,T,NH,C//NH).transpose(1,2);k=k.view(B,T,NH,C//NH).transpose(1,2);v=v.view(B,T,NH,C//NH).transpose(1,2)
            att=(q@k.transpose(-1,-2))/math.sqrt(C//NH); att=att.masked_fill(torch.triu(torch.ones(T,T,dtype=torch.bool),1),float('-inf')).softmax(-1)
            y=(att@v).transpose(1,2).reshape(B,T,C)
            x=x+y@P[h+'attn.c_proj.weight']+P[h+'attn.c_proj.bias']
            a=F.layer_norm(x,(C,),P[h+'ln_2.weight'],P[h+'ln_2.bias'],1e-5)
            x=x+F.gelu(a@P[h+'mlp.c_fc.weight']+P[h+'mlp.c_fc.bias'],approximate='tanh')@P[h+'mlp.c_proj.weight']+P[h+'mlp.c_proj.bias']
        x=F.layer_norm(x,(C,),P['transformer.ln_f.weight'],P['transformer.ln_f.bias'],1e-5)
        logits=x@P['transformer.wte.weight'].T
        return logits, F.cross_entropy(logits.view(-1,logits.size(-1)),tg.view(-1),ignore_index=-100)
    out={}
    for s in (1,2):
        opt.zero_grad(); logits,loss=fwd(); loss.backward()
        if s==1:
            out['loss']=abs(loss.item()-T_['loss'].item())/abs(T_['loss'].item())
            out['grad']=max((P[k].grad.double()-T_['grad.'+k].double()).abs().max().item()/T_['grad.'+k].double().abs().max().item() for k in P)
        opt.step()
        out[f'step{s}']=max(((P[k].detach().double()-T_[f'step{s}.'+k].double()).abs().max().item()/T_[f'step{s}.'+k].double().abs().max().item(),k) for k in P)
    return out
print('float64', run(torch.float64))
print('float32', run(torch.float32))
